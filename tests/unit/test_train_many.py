"""The batched trainer (ksc.models.training.train_many) against the reference, one Keras fit per model."""

import numpy as np
import pytest
from scipy import stats as st

from ksc.data import chaos
from ksc.models.architectures import MODELS, build_model
from ksc.models.members import MemberAutoencoder
from ksc.models.training import data_orders, train, train_many
from ksc.runtime.backend import keras

SMALL = dict(latent_dim=16, k=4)


@pytest.fixture(scope="module")
def data():
    return chaos.make_splits("logistic", 200, 50, 100, seed=0)


def _pool(data):
    return np.concatenate([data.train, data.val])


@pytest.mark.parametrize("name", ["dense_relu", "v2", "v3"])
def test_one_member_trains_exactly_like_keras_fit_for_the_same_seed(name, data):
    # Same initial weights and data orders by construction; 200 images in batches of 32 end every
    # epoch with a partial batch of 8, padded in the member model. (V1 draws Dropout masks and V4's
    # sin(8x) amplifies float rounding, so their runs are compared by distribution below.)
    setting = dict(seed=5, epochs=3, batch_size=32, **SMALL)
    reference = train(name, data, **setting)
    setting["seeds"] = [setting.pop("seed")]
    mine = train_many(name, data, **setting)[0]
    np.testing.assert_allclose(mine.history[["loss", "val_loss"]], reference.history[["loss", "val_loss"]], rtol=1e-4)
    np.testing.assert_allclose(mine.z_test, reference.z_test, atol=1e-4)
    assert mine.metrics["test_mse"] == pytest.approx(reference.metrics["test_mse"], rel=1e-4)


def test_every_epoch_sees_a_new_order_and_every_seed_its_own():
    orders = data_orders([0, 1], 50, 3)
    assert orders.shape == (3, 2, 50)
    assert all(sorted(o) == list(range(50)) for o in orders.reshape(-1, 50))
    assert not np.array_equal(orders[0, 0], orders[1, 0]) and not np.array_equal(orders[0, 0], orders[0, 1])
    np.testing.assert_array_equal(data_orders([1], 50, 3)[:, 0], orders[:, 1])  # a seed's orders ignore the others


@pytest.fixture
def float64():
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx(floatx)
    keras.config.set_dtype_policy(policy)


@pytest.mark.parametrize(
    "name, settings", [("v1", {}), ("v4", {}), ("v4", {"variance_penalty": "code"}), ("v4", {"topk_by": "value"})]
)
def test_loss_and_gradients_of_a_padded_batch_match_the_reference(name, settings, data, float64):
    """V1 (L1 penalties) and V4 (variance penalty, chaos activation): one step, exactly what Keras computes.

    Their trajectories cannot be compared over many steps: V1 draws Dropout masks, and V4's sin(8x)
    amplifies rounding (in float32 its output differs from float64 by ~1e-3 already at
    initialisation), hence float64 here. The batch is 24 rows padded to 32, so the penalties must
    leave the padding out.
    """
    import tensorflow as tf  # the test's gradient tape; the code under test is backend-agnostic

    keras.utils.set_random_seed(1)
    other, ae = build_model(name, **SMALL, **settings), build_model(name, **SMALL, **settings)
    members = MemberAutoencoder([other, ae], [SMALL["k"]] * 2, _pool(data))
    x = data.train[:24].astype(np.float64)
    with tf.GradientTape() as tape:
        expected = tf.reduce_mean(tf.square(ae.model(x, training=False) - x)) + tf.add_n(ae.model.losses)
    expected_grads = tape.gradient(expected, ae.model.trainable_weights)
    rows = np.full((32, 2), -1, np.int32)
    rows[:24] = np.arange(24)[:, None]
    with tf.GradientTape() as tape:
        loss = members.compute_loss(y_pred=members(rows, training=False))
    grads = tape.gradient(loss, members.trainable_weights)
    assert float(members.member_loss.result()["member_loss_1"]) == pytest.approx(float(expected), rel=1e-10)
    for mine, theirs in zip(grads, expected_grads):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(mine)[1], keras.ops.convert_to_numpy(theirs), rtol=1e-7, atol=1e-12
        )


def test_same_seeds_give_identical_metrics_and_other_seeds_do_not(data):
    drop = lambda m: {key: v for key, v in m.items() if key != "wall_seconds"}
    a = train_many("v1", data, seeds=[3, 4], epochs=2, batch_size=32, **SMALL)
    b = train_many("v1", data, seeds=[3, 4], epochs=2, batch_size=32, **SMALL)
    assert [drop(r.metrics) for r in a] == [drop(r.metrics) for r in b]
    np.testing.assert_array_equal(a[0].z_test, b[0].z_test)
    assert a[0].metrics["test_mse"] != a[1].metrics["test_mse"]
    assert [r.seed for r in a] == [3, 4] and a[0].wall_seconds == a[1].wall_seconds > 0


@pytest.mark.parametrize("name", MODELS)
def test_a_member_trains_as_it_would_alone(name, data):
    # every source of randomness (initial weights, data order, V1's Dropout masks) follows the member's own seed
    alone = train_many(name, data, seeds=[7], epochs=2, batch_size=32, **SMALL)[0]
    together = train_many(name, data, seeds=[6, 7, 8], epochs=2, batch_size=32, **SMALL)[1]
    assert together.seed == 7
    np.testing.assert_allclose(together.z_test, alone.z_test, atol=1e-5)
    np.testing.assert_allclose(together.history.val_loss, alone.history.val_loss, rtol=1e-5)


def test_each_member_keeps_its_own_k_and_exports_a_working_model(data):
    runs = train_many(
        "v4",
        data,
        seeds=[0, 0, 1],
        ks=[2, 4, 8],
        labels=["K=2", "K=4", "K=8"],
        epochs=1,
        batch_size=32,
        latent_dim=16,
        probe=data.test,
    )
    assert [r.metrics["active_per_sample"] for r in runs] == [2, 4, 8]
    assert [r.model_name for r in runs] == ["K=2", "K=4", "K=8"]
    for run in runs:
        exported = keras.ops.convert_to_numpy(run.autoencoder.encoder(data.test))
        # float32 rounding of sin(8x) may flip a near-tie of the Top-K selection in a few entries
        assert np.mean(np.isclose(exported, run.z_test, atol=1e-3)) > 0.99
        assert list(run.history.columns) == [
            "epoch",
            "loss",
            "val_loss",
            "probe_variance",
            "probe_dead_units",
            "probe_sparsity",
        ]


# Decided before looking at any result: a metric "differs" if Welch's t-test or the two-sample
# Kolmogorov-Smirnov test gives p < 0.01 (a metric constant and equal in both groups does not differ).
ALPHA = 0.01
METRICS = ["variance", "dead_units", "test_mse", "fve"]


def _differs(a, b) -> list[str]:
    out = []
    for q in METRICS:
        x, y = np.array([m[q] for m in a], float), np.array([m[q] for m in b], float)
        if np.ptp(np.concatenate([x, y])) == 0:
            continue
        p_t = st.ttest_ind(x, y, equal_var=False).pvalue
        p_ks = st.ks_2samp(x, y).pvalue
        if min(np.nan_to_num(p_t, nan=1.0), p_ks) < ALPHA:
            out.append(f"{q} (Welch p={p_t:.2g}, KS p={p_ks:.2g})")
    return out


@pytest.mark.parametrize("name", ["v4", "v1"])
def test_models_trained_together_are_distributed_like_models_trained_one_by_one(name):
    data = chaos.make_splits("logistic", 320, 64, 128, seed=1)
    seeds = list(range(10))
    setting = dict(epochs=3, batch_size=32, **SMALL)
    one_by_one = [train(name, data, seed=s, **setting).metrics for s in seeds]
    together = [r.metrics for r in train_many(name, data, seeds=[100 + s for s in seeds], **setting)]  # independent
    assert _differs(one_by_one, together) == []
    # The same test at the same sample size does see a real change: Top-K keeping 2 units instead of 4.
    other = (
        [r.metrics for r in train_many(name, data, seeds=seeds, **{**setting, "k": 2})]
        if name == "v4"
        else [r.metrics for r in train_many(name, data, seeds=seeds, **{**setting, "epochs": 1})]
    )
    assert _differs(one_by_one, other) != []


def test_members_may_train_on_different_data_sets(data):
    henon = chaos.make_splits("henon", 200, 50, 100, seed=0)
    mixed = train_many("dense_relu", [data, henon, data], seeds=[7, 7, 8], epochs=2, batch_size=32, **SMALL)
    alone = train_many("dense_relu", henon, seeds=[7], epochs=2, batch_size=32, **SMALL)[0]
    np.testing.assert_allclose(mixed[1].z_test, alone.z_test, atol=1e-5)
    assert mixed[1].metrics["mean_predictor_mse"] == alone.metrics["mean_predictor_mse"]
    assert mixed[0].metrics["mean_predictor_mse"] != alone.metrics["mean_predictor_mse"]
    with pytest.raises(ValueError, match="equal train/val/test sizes"):
        train_many("dense_relu", [data, chaos.make_splits("henon", 100, 50, 100)], seeds=[0, 1], epochs=1)


@pytest.mark.parametrize("name", ["v1", "v4"])
def test_a_reused_compiled_trainer_gives_what_a_fresh_one_gives(name, data):
    from ksc.models import training

    henon = chaos.make_splits("henon", 200, 50, 100, seed=0)
    setting = dict(epochs=2, batch_size=32, **SMALL)
    training.forget_compiled()
    train_many(name, data, seeds=[3, 4], **setting)  # compiles; the next call resets and reuses it
    warm = train_many(name, henon, seeds=[5, 6], learning_rate=2e-3, **setting)
    assert len(training._COMPILED) == 1
    training.forget_compiled()
    cold = train_many(name, henon, seeds=[5, 6], learning_rate=2e-3, **setting)
    for a, b in zip(warm, cold):
        assert a.metrics["test_mse"] == b.metrics["test_mse"]
        np.testing.assert_array_equal(a.history.val_loss, b.history.val_loss)


def test_a_penalty_without_a_member_form_is_refused_not_dropped():
    ae = build_model("v2", **SMALL)
    ae.model.get_layer("latent").kernel_regularizer = keras.regularizers.OrthogonalRegularizer(0.01)
    with pytest.raises(TypeError, match="no member form for the regulariser OrthogonalRegularizer"):
        MemberAutoencoder([ae], [SMALL["k"]], np.zeros((8, 28, 28), np.float32))


def test_forty_v4_members_repeat_exactly_in_a_fresh_process():
    """Two runs of the same V4 computation in two new processes give the same bits (the chaos activation amplifies
    any last-bit difference, e.g. from TensorFlow running ops concurrently: ksc.runtime.backend fixes the op order)."""
    import subprocess
    import sys

    script = (
        "import hashlib, numpy as np\n"
        "from ksc.data import chaos\n"
        "from ksc.models.training import train_many\n"
        "d = chaos.make_splits('logistic', 500, 50, 100, seed=0)\n"
        "fits = train_many('v4', d, list(range(40)), epochs=3)\n"
        "print(hashlib.md5(np.array([f.metrics['test_mse'] for f in fits]).tobytes()).hexdigest())\n"
    )
    run = lambda: subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    first, second = run().stdout.split()[-1], run().stdout.split()[-1]
    assert first == second
