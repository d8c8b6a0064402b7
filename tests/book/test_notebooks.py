"""The chapters as a user runs them: papermill executions at a tiny scale, and the real book build."""

import ast
import json
from pathlib import Path

import nbformat
import pandas as pd
import papermill
import pytest

from ksc import conclusions
from ksc.book import build as book
from ksc.book import execute, notebooks
from ksc.book.parameters import RULES, ParameterError
from ksc.evidence import claims
from ksc.evidence import ledger as ledger_module
from ksc.runtime.results import read_results

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "tests" / "smoke.yml"
NOTEBOOKS = notebooks.chapters(ROOT)
STEMS = [nb.stem for nb in NOTEBOOKS]


def test_there_are_chapters():
    assert {
        "00_data",
        "01_evolution",
        "02_k_ablation",
        "03_fair_baselines",
        "04_henon",
        "05_divergence",
        "06_vsae",
        "07_controls",
        "08_flows",
        "09_sota_saes",
        "10_training_controls",
        "11_ablations",
        "12_randomness",
        "13_language_model",
        "90_ledger",
    } <= set(STEMS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=STEMS)
def test_committed_notebook_is_clean_and_parameterised(path):
    assert notebooks.committed_outputs(path) == []
    raw = json.loads(path.read_text())
    ids = [cell.get("id") for cell in raw["cells"]]
    assert all(ids) and len(set(ids)) == len(ids), "every cell needs its own id (nbformat 4.5 warns on the page)"
    nb = nbformat.read(path, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    after = nb.cells[tagged[0] + 1]
    # validation comes first: one call that checks every parameter against ksc/book/parameters.py
    assert after.cell_type == "code" and f'chapter = start("{path.stem}", globals())' in after.source
    declared = notebooks.notebook_parameters(path)
    assigned = {t.id for node in ast.parse(nb.cells[tagged[0]].source).body for t in node.targets}
    assert set(declared) == assigned, "papermill must parse every parameter (no '=' inside a comment)"
    assert "results_dir" in declared
    assert set(declared) <= set(RULES), "declare every parameter in ksc/book/parameters.py"
    assert {name: p["help"].strip() for name, p in declared.items()} == {
        name: RULES[name].meaning for name in declared
    }, "run `python -m ksc.book.cells`: the comments are the table's meanings"


def test_every_chapter_writes_a_complete_results_file(smoke_book):
    smoke = notebooks.load_parameter_file(SMOKE)
    for stem in STEMS:
        record = read_results(smoke_book / "src" / "book" / "results" / f"{stem}.json")
        assert record["chapter"] == stem
        for name, value in smoke.get(stem, {}).items():
            assert record["parameters"][name] == value
        assert len(record["metrics"]) > 0
        # every page judges claims of the papers, except the two that measure the code
        assert (len(record["claims"]) > 0) != (stem in ("89_train_speed", "95_performance"))
        assert set(record["claims"].get("verdict", [])) <= set(claims.VERDICTS)
        prov = record["provenance"]
        assert prov["wall_seconds"] > 0 and prov["keras_backend"] == "tensorflow" and prov["device"]


def test_evolution_results_have_every_model_and_seed(smoke_book):
    record = read_results(smoke_book / "src" / "book" / "results" / "01_evolution.json")
    metrics = record["metrics"]
    assert sorted(metrics.model.unique()) == ["v1", "v2", "v3", "v4"]
    assert (metrics.groupby("model").seed.nunique() == 2).all()
    assert (metrics.latent_dim == 16).all() and (metrics.query("model in ['v3', 'v4']").active_per_sample <= 4).all()
    ids = set(record["claims"].id)
    assert {"s5.4-v4-variance", "t1-v4-variance", "s5.4-ratio-v4-v3"} <= ids


def test_ledger_covers_every_claim_and_recomputes_verdicts(smoke_book):
    results = smoke_book / "src" / "book" / "results"
    registry = claims.load_registry()
    selected = set()
    for path in results.glob("[0-8][0-9]_*.json"):
        record = read_results(path)
        if not record["claims"].empty:  # the training-speed page (89) measures no claim
            selected |= set(record["claims"].id)
    untested = registry[(registry.rule != "not_testable") & ~registry.id.isin(selected)]
    assert untested.empty, f"claims no chapter selects: {list(untested.id)}"
    assert registry[registry.rule == "not_testable"].note.str.len().min() > 20  # a reason, not a blank
    ledger = pd.read_csv(results / "ledger.csv")
    assert list(ledger.id) == list(registry.id)
    assert set(ledger.verdict) <= set(claims.VERDICTS)
    assert set(ledger.finding) <= set(ledger_module.FINDINGS)
    record = read_results(results / "90_ledger.json")
    judged = pd.DataFrame(record["tables"]["conclusions"])
    assert list(judged.id) == list(conclusions.load().id) and set(judged.verdict) <= set(conclusions.VERDICTS)
    distinct = pd.DataFrame(record["tables"]["distinct"])
    assert len(distinct) == ledger.measurement.nunique() < len(ledger)  # repeated numbers count once
    for path in results.glob("0[1-7]_*.json"):
        chapter = read_results(path)["claims"].set_index("id")
        mine = ledger.set_index("id").loc[chapter.index]
        measured = chapter.measured.notna()
        assert (mine.verdict[measured] == chapter.verdict[measured]).all()


def test_intro_shows_the_findings_the_ledger_computed(smoke_book):
    results = smoke_book / "src" / "book" / "results"
    findings = (results / "findings.md").read_text()
    assert (smoke_book / "_build" / "site" / "book" / "findings.md").read_text() == findings
    intro = (smoke_book / "_build" / "html" / "book" / "intro.html").read_text()
    record = read_results(results / "90_ledger.json")
    tallies = pd.DataFrame(record["tables"]["tallies"]).set_index("finding")
    for paper in tallies.columns:
        assert f"{int(tallies.loc['all distinct measurements', paper])} distinct" in intro
    judged = pd.DataFrame(record["tables"]["conclusions"])
    ksc = judged[judged.source == "ksc"]
    measured = ksc[ksc.basis == "measured"]
    assert f"Decided by a measurement ({len(measured)})" in findings
    for verdict, n in measured.verdict.value_counts().items():
        assert f"{n} {verdict}" in findings
    fixed = ksc[~ksc.basis.isin(["measured", "none"])]
    assert f"construction ({len(fixed)})" in findings  # verdicts no measurement could change, counted apart
    assert "What the book finds" in intro and intro.count("<tr") >= len(judged)


def test_website_has_every_chapter_with_figures_and_no_errors(smoke_book):
    html = smoke_book / "_build" / "html"
    assert (html / "index.html").exists()
    intro = (html / "book" / "intro.html").read_text()
    assert "References" in intro and "Sprott" in intro  # citations resolved from references.bib
    for stem in STEMS:
        page = (html / "notebooks" / f"{stem}.html").read_text()
        assert "<img" in page and "verdict" in page
        assert "Traceback" not in page and "An Exception was encountered" not in page


@pytest.mark.parametrize(
    "stem, name, value, expected",
    [
        ("01_evolution", "k", 0, "k = 0 is not allowed: an integer from 1 to 128"),
        ("01_evolution", "k", 200, "k = 200 is not allowed"),
        ("01_evolution", "topk_by", "sign", "topk_by = 'sign' is not allowed: one of 'abs', 'value'"),
        ("00_data", "r", 4.5, "r = 4.5 is not allowed: a finite number in (0.0, 4.0]"),
        ("00_data", "n_train", "many", "n_train = 'many' is not allowed"),
    ],
)
def test_bad_parameter_stops_the_notebook_with_one_line(tmp_path, stem, name, value, expected):
    results = tmp_path / "results"
    with pytest.raises(papermill.PapermillExecutionError) as info:
        papermill.execute_notebook(
            str(ROOT / "notebooks" / f"{stem}.ipynb"),
            str(tmp_path / "out.ipynb"),
            parameters={name: value, "results_dir": str(results)},
            progress_bar=False,
            kernel_name="python3",
        )
    error = info.value
    assert error.ename == "ParameterError" and expected in error.evalue
    assert error.traceback == [f"ParameterError: {error.evalue}"]  # one line, no stack
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    injected = next(i for i, c in enumerate(code) if "injected-parameters" in c.metadata.get("tags", []))
    failed = next(i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.get("outputs", [])))
    assert failed == injected + 1  # the first code cell after the parameters stops the run
    assert not results.exists()


def test_a_failed_run_leaves_earlier_results_and_pages_untouched(smoke_book):
    site = smoke_book / "src"
    results = site / "book" / "results" / "01_evolution.json"
    page = site / "book" / "chapters" / "01_evolution.ipynb"
    before = results.read_bytes(), page.read_bytes()
    with pytest.raises(execute.ChapterFailed, match=r"01_evolution failed in cell \d+: ParameterError: k = -1"):
        execute.execute_chapter(
            ROOT / "notebooks" / "01_evolution.ipynb",
            site / "book" / "chapters",
            site / "book" / "results",
            {"k": -1},
            log=lambda *a: None,
        )
    assert (results.read_bytes(), page.read_bytes()) == before


def test_parameter_file_names_are_checked():
    declared = notebooks.notebook_parameters(ROOT / "notebooks" / "01_evolution.ipynb")
    with pytest.raises(ParameterError, match="unknown parameter"):
        notebooks.parameters_for("01_evolution", {"01_evolution": {"kk": 3}}, declared)
    assert notebooks.parameters_for("01_evolution", {"all": {"seed": 4, "lyapunov_steps": 9}}, declared) == {"seed": 4}


def test_a_sphinx_warning_fails_the_build(tmp_path):
    site = book.assemble_site(tmp_path / "nothing-executed", tmp_path / "site")
    (site / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    (site / "book" / "intro.md").write_text("# Broken\n\nSee {ref}`a-label-that-does-not-exist`.\n")
    with pytest.raises(RuntimeError, match="jupyter-book build failed"):
        book.render(site, tmp_path)


def test_audit_flags_missing_results_and_unmeasured_claims(tmp_path):
    (tmp_path / "a.json").write_text(
        '{"claims": [{"id": "x1", "verdict": "not measured"}, {"id": "x2", "verdict": "partly"}]}'
    )
    assert book.audit(tmp_path, ["a", "b"]) == ["a: x1", "b: no results file"]


def test_vsae_chapter_judges_a_tuned_factorial_design_per_k(smoke_book):
    record = read_results(smoke_book / "src" / "book" / "results" / "06_vsae.json")
    metrics, tables, smoke = record["metrics"], record["tables"], notebooks.load_parameter_file(SMOKE)["06_vsae"]
    # the judged runs: the TopK SAE and both vSAEs at one chosen beta, every data set, k and seed
    sizes = metrics.groupby(["dataset", "model"]).size()
    n = smoke["n_seeds"]
    assert dict(sizes) == {
        (d, m): n * len(smoke["image_ks"] if d == "logistic" else smoke["ks"])
        for d in ("superposition", "network", "logistic")
        for m in ("topk_sae", "vsae", "vsae_mean")
    }
    chosen = tables["chosen"]
    assert set(chosen.beta) <= set(smoke["betas"])
    for row in chosen[chosen.meets_margin.astype(bool)].itertuples():  # the rule: within 0.05 of the TopK SAE
        assert row.variant_val_fve >= row.topk_val_fve - 0.05
    design = tables["design"]
    assert (design.l0 <= design.k + 1e-9).all() and design.dead_fraction.between(0, 1).all()
    counted = design[design.dataset == "superposition"].dead_counted.dropna()
    assert len(counted) and counted.between(0, 1).all()  # dead latents counted on the fresh samples
    # the 2 x 2 has every cell at every k and beta on the superposition benchmark
    effects = tables["effects"]
    assert len(effects) == len(smoke["ks"]) * len(smoke["betas"]) and set(effects.dataset) == {"superposition"}
    assert effects[["neither", "sampling only", "KL only", "sampling and KL"]].notna().all().all()
    # every registry row measured here has a verdict at every k it was measured at
    by_k = tables["by_k"]
    assert set(by_k[by_k.id == "vsae-living-superposition"].k) == set(smoke["ks"])
    table = record["claims"].set_index("id")
    assert table.loc["vsae-s4.2-one-sixth", "measured"] == pytest.approx(1227 / 6970)
    assert table.loc["vsae-s4.2-one-sixth", "verdict"] == "not reproduced"  # 0.176 is not below one sixth
    assert table.loc[table.index.str.startswith("vsae-living-"), "measured"].notna().all()
    assert table.loc["vsae-tpp-network", "verdict"] != "not testable here"
    nulls = tables["nulls"]  # the chapter's null references reach the ledger's
    assert set(nulls.reference) == {"vSAE = TopK SAE", "all-zero vSAE"}
    assert (nulls[(nulls.reference == "vSAE = TopK SAE") & (nulls.quantity == "living_ratio")].value == 1).all()
    compared = tables["authors_vs_ours"]
    assert {"living (authors' code)", "living (ours)"} <= set(compared.columns) and set(compared.k) == set(
        smoke["authors_ks"]
    )


def test_training_controls_measure_every_model_before_and_after_training(smoke_book):
    record = read_results(smoke_book / "src" / "book" / "results" / "10_training_controls.json")
    runs, tables, smoke = (
        record["metrics"],
        record["tables"],
        notebooks.load_parameter_file(SMOKE)["10_training_controls"],
    )
    sizes = runs.groupby(["architecture", "dataset", "training"]).size()
    assert len(sizes) == len(smoke["models"]) * 2 * 2 and (sizes == smoke["n_seeds"]).all()
    v4 = runs[runs.architecture == "v4"]
    assert (v4.active_per_sample == smoke["k"]).all()  # Top-K keeps k units before and after training
    curves = tables["curves"]
    assert set(curves.learning_rate) == set(smoke["learning_rates"]) and curves.epoch.max() == smoke["long_epochs"]
    assert list(tables["k_table"].K) == smoke["ks"] and (tables["k_table"].bound >= tables["k_table"].untrained).all()
    variants = set(tables["remedies"].variant)
    assert {"v3", "v4", "v3 + resampling"} <= variants and sum(v.startswith("v3 + AuxK") for v in variants) == 2
    probes = tables["probes"]
    pca = probes[(probes.code == f"PCA-{smoke['k']}") & (probes.probe == "ridge")]
    assert pca.pcs.min() > 0.9  # the principal subspace is read back from a PCA code of the same size
    origin = tables["origin_variance"]
    assert origin[origin.encoded.str.contains("x0 = 0.4")]["largest unit variance"].max() < 1e-8
    assert set(record["claims"].id) == {"s1.2-origin-d0", "s1.2-origin-ratio", "s6.1-v4-valloss-epoch4"}


def test_sota_chapter_reads_every_sae_at_the_target_l0(smoke_book):
    record = read_results(smoke_book / "src" / "book" / "results" / "09_sota_saes.json")
    runs, tables, smoke = record["metrics"], record["tables"], notebooks.load_parameter_file(SMOKE)["09_sota_saes"]
    narrow = runs[runs.n_latents == smoke["image_latents"]]
    sizes = narrow.groupby(["model", "dataset"]).size()
    assert sizes[("jumprelu", "noise")] == len(smoke["jumprelu_penalties"]) * smoke["n_seeds"]
    assert sizes[("topk_auxk", "logistic")] == len(smoke["ks"]) * smoke["n_seeds"]
    assert (narrow[narrow.model == "topk_auxk"].l0 <= narrow[narrow.model == "topk_auxk"].coefficient + 1e-9).all()
    assert set(runs[runs.n_latents == smoke["wide_latents"]].dataset) == {"logistic"}
    matched = tables["matched"]
    assert (matched.l0 == smoke["target_l0"]).all() and matched.read.isin([True, False]).all()
    assert matched[~matched.read.astype(bool)].fve.isna().all()  # a missed target is never extrapolated
    assert set(record["claims"].id) == {
        f"s7.3-{kind}-{q}" for kind in ("jumprelu", "gated") for q in ("sparsity", "dead", "variance", "valloss")
    }
    nulls = tables["nulls"].set_index("id")
    # a code that is all zeros meets the 'variance collapses' predictions, never the dead-unit bands of 45-80 %
    assert nulls.loc[["s7.3-jumprelu-variance", "s7.3-gated-variance"], "passes (all-zero code)"].all()
    assert not nulls.loc[["s7.3-jumprelu-dead", "s7.3-gated-dead"], "passes (all-zero code)"].any()


def test_ablation_chapter_trains_every_variant_on_both_data_sets(smoke_book):
    record = read_results(smoke_book / "src" / "book" / "results" / "11_ablations.json")
    runs, tables, smoke = record["metrics"], record["tables"], notebooks.load_parameter_file(SMOKE)["11_ablations"]
    ablation = runs[runs.experiment == "ablation"]
    sizes = ablation.groupby(["variant", "dataset"]).size()
    assert (sizes == smoke["n_seeds"]).all() and set(ablation.dataset) == {"logistic", "noise"}
    assert set(ablation[ablation.factor == "omega"].omega) == set(smoke["omegas"]) - {8.0}
    assert (ablation[ablation.variant == "V4"].active_per_sample == smoke["k"]).all()
    properties = tables["properties"].set_index(["variant", "dataset"])
    assert properties.loc[("ReLU", "logistic"), "fixed_point_stretch"]  # f(x) = x for all x > 0
    assert not properties.loc[("V4", "logistic"), "fixed_point_stretch"]
    assert properties.loc[("V4", "logistic"), "fixed_points"] >= 1  # 0 is one of them
    assert properties.loc[("V4", "logistic"), "derivative_at_0"] == pytest.approx(10.0)
    assert set(tables["run_properties"].training) == {"trained", "untrained"}
    scale = tables["scale"]
    assert set(scale.latent_dim) == set(smoke["scale_dims"]) and (scale.seeds == smoke["scale_seeds"]).all()
    cost = tables["cost"]
    assert (cost.v4_seconds_per_run > 0).all() and (cost.v4_parameters == cost.dense_relu_parameters).all()
    assert set(tables["nulls"].reference) == {"V4 on noise", "untrained V4"}
    assert set(record["claims"].id) == {"s5.4-act-derivative", "s5.4-act-fixed-points"}


def test_randomness_chapter_tests_every_stream_and_its_controls(smoke_book):
    record = read_results(smoke_book / "src" / "book" / "results" / "12_randomness.json")
    tables, smoke = record["tables"], notebooks.load_parameter_file(SMOKE)["12_randomness"]
    info = tables["stream_info"].set_index(["source", "extraction"])
    n_bits = smoke["n_sequences"] * smoke["sequence_bits"]
    assert len(info) == 26 and (info.drop(("dense_relu", "threshold"), errors="ignore").bits == n_bits).all()
    # the Top-K support pattern has k of latent_dim ones in every row, for every source that has latents
    for source in ("v4", "dense_relu", "v3", "v4_noise"):
        assert info.loc[(source, "support"), "ones"] == pytest.approx(smoke["k"] / smoke["latent_dim"])
    streams = tables["streams"]
    assert set(streams.battery) == {"NIST SP 800-22", "dieharder", "ent"} and len(streams) == 3 * 26
    nist_rows = streams[streams.battery == "NIST SP 800-22"].set_index(["source", "extraction"])
    assert nist_rows.loc[("logistic_4_float32", "native"), "passes"] is False  # orbits in short cycles
    assert set(record["claims"].id) == {
        "s7.1-practrand",
        "s7.1-batteries-v4-threshold",
        "s7.1-batteries-v4-mantissa",
    }
    ran = (streams.measured.astype(bool) | streams.misconfigured.astype(bool)).groupby(
        [streams.source, streams.extraction]
    )
    if ran.all().loc["v4"].any():  # a V4 stream every battery tested (at this size dieharder may test none)
        assert set(tables["nulls"].reference) == {"dense ReLU latents", "V4 trained on noise"}
    else:
        assert tables["nulls"].empty
