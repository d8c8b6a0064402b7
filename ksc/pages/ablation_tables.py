"""Chapter 11's tables as the page shows them: the design, effects against V4 side by side per data set, the
activation properties next to the outcomes, the variances the penalties steer and the width sweep."""

from __future__ import annotations

import pandas as pd

SHOWN = ("dead_fraction", "scale_free_variance", "fve")  # the quantities the page's tables of effects show
PROPERTY_COLUMNS = ["variant", "dataset", "f_at_0", "derivative_at_0", "fixed_points", "attracting_fixed_points"]
PROPERTY_COLUMNS += ["mean_abs_derivative", "flat_fraction", "expansive_fraction", "latent_negative_fraction"]
PROPERTY_COLUMNS += ["dead_fraction", "scale_free_variance", "fve"]


def variant_table(variants) -> pd.DataFrame:
    """One row per variant: its name, factor, activation, constants, Top-K selection and penalty (k, width and the
    Top-K flag left out: the same for every variant of the design)."""
    return pd.DataFrame([vars(v) for v in variants]).drop(columns=["k", "latent_dim", "topk"])


def effect_rows(effect_table: pd.DataFrame, factors, quantities=SHOWN) -> pd.DataFrame:
    """The effects on ``quantities`` of the variants that change ``factors``: difference from V4 and Welch's p, a
    column per data set."""
    rows = effect_table[effect_table.factor.isin(factors) & effect_table.quantity.isin(quantities)]
    return rows.pivot_table(
        index=["variant", "quantity"], columns="dataset", values=["difference", "welch_p"], sort=False
    )


def omega_pre_activations(properties: pd.DataFrame) -> pd.DataFrame:
    """For V4 and each frequency: the spread of the pre-activations its trained model ends with and the mean |f'|
    over them, a column per data set (rounded to 3 decimals)."""
    rows = properties[properties.factor.isin(["default", "omega"])]
    values = ["pre_sd", "mean_abs_derivative"]
    return rows.pivot_table(index="variant", columns="dataset", values=values, sort=False).round(3)


def property_rows(same: pd.DataFrame) -> pd.DataFrame:
    """The activation properties next to the outcomes, sorted by data set and mean |f'| (rounded to 3 decimals)."""
    return same[PROPERTY_COLUMNS].sort_values(["dataset", "mean_abs_derivative"]).round(3)


def penalty_variances(properties: pd.DataFrame) -> pd.DataFrame:
    """The variance each penalty form steers, for V4 and its penalty variants: the latent pre-activation's (the
    draft's form) and the Top-K output's (the code's form), rounded to 4 decimals."""
    steered = properties[properties.factor.isin(["default", "penalty"])]
    return steered[["variant", "dataset", "latent_pre_variance", "variance"]].round(4)


def split_rows(split: pd.DataFrame) -> pd.DataFrame:
    """The split of the effects into architecture and data, for the quantities in :data:`SHOWN` (4 decimals)."""
    return split[split.quantity.isin(list(SHOWN))].round(4)


def width_table(scale: pd.DataFrame) -> pd.DataFrame:
    """The width sweep's dead fraction, scale-free variance and FVE, a column per width (rounded to 4 decimals)."""
    return scale.pivot_table(index=["variant", "dataset"], columns="latent_dim", values=list(SHOWN), sort=False).round(
        4
    )
