import pytest

from ksc.book import parameters as params
from ksc.book.parameters import ParameterError


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: params.integer("k", 0, 1, 128), "k = 0 is not allowed: an integer from 1 to 128"),
        (lambda: params.integer("k", 129, 1, 128), "k = 129 is not allowed"),
        (lambda: params.integer("n_train", "2000", 1), "n_train = '2000' is not allowed: an integer >= 1"),
        (lambda: params.integer("epochs", True, 1), "epochs = True"),
        (lambda: params.integer("epochs", 2.5, 1), "epochs = 2.5"),
        (
            lambda: params.real("r", 4.5, 0.0, 4.0, low_open=True),
            "r = 4.5 is not allowed: a finite number in (0.0, 4.0]",
        ),
        (lambda: params.real("r", 0.0, 0.0, 4.0, low_open=True), "r = 0.0"),
        (lambda: params.choice("topk_by", "magnitude", ("abs", "value")), "one of 'abs', 'value'"),
        (lambda: params.integers("seeds", [0, -1]), "seeds[1] = -1"),
        (lambda: params.text("results_dir", ""), "results_dir = ''"),
        (lambda: params.choices("models", ["topk_sae", "jumprelu"], ("topk_sae", "vsae")), "models[1] = 'jumprelu'"),
        (lambda: params.choices("models", [], ("topk_sae",)), "models = [] is not allowed: a non-empty list"),
        (
            lambda: params.reals("betas", [0.1, -1], 0.0, 10.0),
            "betas[1] = -1 is not allowed: a finite number in [0.0, 10.0]",
        ),
        (lambda: params.reals("betas", "0.1", 0.0, 10.0), "betas = '0.1' is not allowed: a non-empty list of numbers"),
    ],
)
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


def test_the_table_checks_in_order_and_bounds_may_follow_other_parameters():
    assert params.check({"latent_dim": 16, "k": 16}) == {"latent_dim": 16, "k": 16}
    with pytest.raises(ParameterError, match=r"^k = 17 is not allowed: an integer from 1 to 16$"):
        params.check({"k": 17, "latent_dim": 16})  # checked in the table's order, whatever the notebook's order
    with pytest.raises(ParameterError, match="k_map = 3 is not allowed: one of 2, 4"):
        params.check({"ks": [2, 4], "image_latents": 8, "synthetic_latents": 8, "k_map": 3})
    with pytest.raises(ParameterError, match="n_active"):
        params.check({"n_features": 4, "decay": 0.0, "n_active": 5.0})  # four features cannot fire five times
    with pytest.raises(ParameterError, match="datasets"):
        params.check({"datasets": ["noise"]})  # the chapter compares against logistic images


def test_chapters_may_only_tighten_a_rule_and_say_so():
    assert params.check({"n_seeds": 1}) == {"n_seeds": 1}
    with pytest.raises(ParameterError, match="n_seeds = 1 is not allowed: an integer >= 2"):
        params.check({"n_seeds": 1}, chapter="03_fair_baselines")
    for rules in params.CHAPTER_RULES.values():
        for name, change in rules.items():
            assert name in params.RULES and set(change) <= {"low", "high", "min_len", "must_include"}
            # a chapter may require more entries of a list, never fewer
            assert set(params.RULES[name].must_include) <= set(
                change.get("must_include", params.RULES[name].must_include)
            )
    with pytest.raises(ParameterError, match="including 'dense_relu', 'v3', 'v4'"):
        params.check({"models": ["v4"]}, chapter="10_training_controls")


def test_unknown_names_and_meanings_are_refused_or_listed():
    with pytest.raises(ParameterError, match="kk is not a parameter of the book"):
        params.check({"kk": 3})
    for name, rule in params.RULES.items():
        assert rule.meaning and "=" not in rule.meaning and "\n" not in rule.meaning, name
        assert "depends" not in rule.allowed()  # listings name what a bound follows
    assert params.rule("k").allowed() == "an integer from 1 to latent_dim"


def test_start_checks_a_notebook_namespace_and_writes_the_values_back(tmp_path):
    from ksc.book.chapter import start

    namespace = {"In": [], "np": object(), "k": 4, "latent_dim": 8, "learning_rate": 1, "results_dir": str(tmp_path)}
    chapter = start("01_evolution", namespace)
    assert chapter.parameters == {"k": 4, "latent_dim": 8, "learning_rate": 1.0, "results_dir": str(tmp_path)}
    assert isinstance(namespace["learning_rate"], float)
    from ksc.runtime import declarations
    from ksc.runtime.results import read_results

    with pytest.raises(declarations.MissingEvidence, match="01_evolution/metrics lacks the column"):
        chapter.write(metrics=[{"model": "v4", "variance": 0.4}])  # the chapter's declared tables are missing
    assert not (tmp_path / "01_evolution.json").exists()
    declared = {d.table: d for d in declarations.of_chapter("01_evolution")}
    models = ["v1", "v2", "v3", "v4"]
    metrics = [{**dict.fromkeys(declared["metrics"].columns, 0.0), "model": m, "variance": 0.4} for m in models]
    tables = {name: [dict.fromkeys(d.columns, 0.0)] for name, d in declared.items() if name != "metrics"}
    path = chapter.write(metrics=metrics, tables=tables)
    assert path == tmp_path / "01_evolution.json"
    record = read_results(path)
    assert record["parameters"] == {"k": 4, "latent_dim": 8, "learning_rate": 1.0}  # no machine path is recorded
    assert record["metrics"].variance.tolist() == [0.4] * 4 and record["provenance"]["wall_seconds"] >= 0
    with pytest.raises(ParameterError, match="k = 9"):
        start("01_evolution", {"k": 9, "latent_dim": 8})
