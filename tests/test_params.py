import pytest

from ksc import params
from ksc.params import ParameterError


@pytest.mark.parametrize("call, message", [
    (lambda: params.integer("k", 0, 1, 128), "k = 0 is not allowed: an integer from 1 to 128"),
    (lambda: params.integer("k", 129, 1, 128), "k = 129 is not allowed"),
    (lambda: params.integer("n_train", "2000", 1), "n_train = '2000' is not allowed: an integer >= 1"),
    (lambda: params.integer("epochs", True, 1), "epochs = True"),
    (lambda: params.integer("epochs", 2.5, 1), "epochs = 2.5"),
    (lambda: params.real("r", 4.5, 0.0, 4.0, low_open=True), "r = 4.5 is not allowed: a number in (0.0, 4.0]"),
    (lambda: params.real("r", 0.0, 0.0, 4.0, low_open=True), "r = 0.0"),
    (lambda: params.choice("topk_by", "magnitude", ("abs", "value")), "one of 'abs', 'value'"),
    (lambda: params.integers("seeds", [0, -1]), "seeds[1] = -1"),
    (lambda: params.text("results_dir", ""), "results_dir = ''"),
    (lambda: params.choices("models", ["topk_sae", "jumprelu"], ("topk_sae", "vsae")), "models[1] = 'jumprelu'"),
    (lambda: params.choices("models", [], ("topk_sae",)), "models = [] is not allowed: a non-empty list"),
    (lambda: params.reals("betas", [0.1, -1], 0.0, 10.0), "betas[1] = -1 is not allowed: a number in [0.0, 10.0]"),
    (lambda: params.reals("betas", "0.1", 0.0, 10.0), "betas = '0.1' is not allowed: a non-empty list of numbers"),
])
def test_bad_values_raise_one_line(call, message):
    with pytest.raises(ParameterError) as info:
        call()
    text = str(info.value)
    assert message in text and "\n" not in text
    assert info.value._render_traceback_() == [f"ParameterError: {text}"]


def test_good_values_pass_through():
    assert params.integer("k", 32, 1, 128) == 32
    assert params.real("r", 4, 0.0, 4.0, low_open=True) == 4.0
    assert params.integers("seeds", (1, 2)) == [1, 2]
    assert params.choices("models", ("vsae",), ("topk_sae", "vsae")) == ["vsae"]
    assert params.reals("betas", [1, 0.5], 0.0, 10.0) == [1.0, 0.5]
