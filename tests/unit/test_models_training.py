import numpy as np
import pytest

from ksc.data import chaos
from ksc.models.architectures import MODELS, build_model
from ksc.models.training import train


@pytest.mark.parametrize("name", MODELS)
def test_output_shapes(name):
    ae = build_model(name, latent_dim=16, k=4)
    x = chaos.logistic_images(3, seed=0)
    assert tuple(ae.model(x).shape) == (3, 28, 28)
    assert tuple(ae.encoder(x).shape) == (3, 16)


@pytest.mark.parametrize("name", ["v3", "v4"])
def test_topk_models_have_at_most_k_active_units(name):
    ae = build_model(name, latent_dim=16, k=4)
    z = np.asarray(ae.encoder(chaos.logistic_images(20, seed=1)))
    assert np.all(np.count_nonzero(z, axis=1) <= 4)


def test_v4_uses_the_chaos_activation_and_its_penalty_placement():
    draft = build_model("v4", variance_penalty="draft").model
    code = build_model("v4", variance_penalty="code").model
    assert draft.get_layer("latent").activity_regularizer is not None
    assert draft.get_layer("topk").activity_regularizer is None
    assert code.get_layer("topk").activity_regularizer.form == "squared"
    assert any(layer.__class__.__name__ == "ChaosActivation" for layer in draft.layers)


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="model must be one of"):
        build_model("v5")


@pytest.fixture(scope="module")
def tiny_data():
    return chaos.make_splits("logistic", 64, 16, 32, seed=0)


def test_same_seed_gives_identical_metrics(tiny_data):
    a = train("v4", tiny_data, seed=3, epochs=2, batch_size=32, latent_dim=16, k=4)
    b = train("v4", tiny_data, seed=3, epochs=2, batch_size=32, latent_dim=16, k=4)
    c = train("v4", tiny_data, seed=4, epochs=2, batch_size=32, latent_dim=16, k=4)
    drop = lambda m: {key: v for key, v in m.items() if key != "wall_seconds"}
    assert drop(a.metrics) == drop(b.metrics)
    np.testing.assert_array_equal(a.z_test, b.z_test)
    assert a.metrics["variance"] != c.metrics["variance"]
    assert len(a.history) == 2 and {"loss", "val_loss"} <= set(a.history.columns)
    assert a.metrics["mean_predictor_mse"] > 0 and a.wall_seconds > 0
