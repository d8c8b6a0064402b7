"""The two continuous chaotic systems the KSC draft planned (Section 7.2) but never ran, as images.

- Lorenz-96 (D variables on a ring, forcing F; chaotic at F = 8):
  dx_i/dt = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + F, integrated with fourth-order Runge-Kutta.
- Mackey-Glass (delay tau; chaotic at tau = 17):
  dx/dt = beta x(t - tau) / (1 + x(t - tau)^10) - gamma x(t), beta = 0.2, gamma = 0.1, Euler steps.

This module returns series: n runs of one observable (x_0 for Lorenz-96, x for Mackey-Glass) sampled
every ``stride`` integration steps after a burn-in onto the attractor, each run from its own random
state. ``chaos.flow_images`` lays them out as images, next to the maps' images.
"""

from __future__ import annotations

import numpy as np

FLOW_SYSTEMS = ("lorenz96", "mackey_glass")


def lorenz96_derivative(x_ND: np.ndarray, forcing: float) -> np.ndarray:
    return (np.roll(x_ND, -1, axis=1) - np.roll(x_ND, 2, axis=1)) * np.roll(x_ND, 1, axis=1) - x_ND + forcing


def lorenz96_step(x_ND: np.ndarray, forcing: float, dt: float) -> np.ndarray:
    """One fourth-order Runge-Kutta step for every trajectory (row) at once: the reference form of
    :class:`Lorenz96Integrator`'s step."""
    k1 = lorenz96_derivative(x_ND, forcing)
    k2 = lorenz96_derivative(x_ND + 0.5 * dt * k1, forcing)
    k3 = lorenz96_derivative(x_ND + 0.5 * dt * k2, forcing)
    k4 = lorenz96_derivative(x_ND + dt * k3, forcing)
    return x_ND + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)


class Lorenz96Integrator:
    """:func:`lorenz96_step` in place, with the same operations in the same order (so the same bits), three times
    faster: the state is stored variable by variable, (D, N), so each neighbour is a contiguous slice of a ring
    buffer with ghost rows instead of a rolled copy, and every intermediate has a buffer of its own."""

    def __init__(self, x_ND: np.ndarray, forcing: float, dt: float):
        n, dim = x_ND.shape
        self.forcing, self.dt, self.dim = forcing, dt, dim
        self.x = np.array(x_ND.T, dtype=np.float64, order="C")  # (D, N), a copy: the caller's array stays
        # ring[2 + i] = x_i; ring[0:2] = x_{D-2}, x_{D-1}; ring[D + 2] = x_0
        self.ring = np.empty((dim + 3, n))
        self.k1, self.k2, self.k3, self.k4, self.y = (np.empty((dim, n)) for _ in range(5))

    def _derivative(self, x_DN: np.ndarray, out: np.ndarray) -> np.ndarray:
        """(x_{i+1} - x_{i-2}) x_{i-1} - x_i + F into ``out``."""
        ring, dim = self.ring, self.dim
        ring[2 : dim + 2] = x_DN
        ring[0:2] = x_DN[dim - 2 :]
        ring[dim + 2] = x_DN[0]
        np.subtract(ring[3:], ring[:dim], out=out)
        np.multiply(out, ring[1 : dim + 1], out=out)
        np.subtract(out, x_DN, out=out)
        return np.add(out, self.forcing, out=out)

    def step(self) -> None:
        x, y, k1, k2, k3, k4, dt = self.x, self.y, self.k1, self.k2, self.k3, self.k4, self.dt
        self._derivative(x, k1)
        np.add(x, np.multiply(0.5 * dt, k1, out=y), out=y)
        self._derivative(y, k2)
        np.add(x, np.multiply(0.5 * dt, k2, out=y), out=y)
        self._derivative(y, k3)
        np.add(x, np.multiply(dt, k3, out=y), out=y)
        self._derivative(y, k4)
        # x + dt / 6 * (((k1 + 2 k2) + 2 k3) + k4), as lorenz96_step sums
        np.add(k1, np.multiply(2, k2, out=k2), out=k1)
        np.add(k1, np.multiply(2, k3, out=k3), out=k1)
        np.add(k1, k4, out=k1)
        np.add(x, np.multiply(dt / 6.0, k1, out=k1), out=x)


def lorenz96_series(
    n: int,
    n_samples: int,
    dim: int = 40,
    forcing: float = 8.0,
    dt: float = 0.01,
    stride: int = 5,
    burn_in: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """(n, n_samples) values of x_0, one row per trajectory started at F plus N(0, 1) noise."""
    rng = np.random.default_rng(seed)
    flow = Lorenz96Integrator(forcing + rng.standard_normal((n, dim)), forcing, dt)
    for _ in range(burn_in):
        flow.step()
    out = np.empty((n, n_samples))
    for t in range(n_samples):
        for _ in range(stride):
            flow.step()
        out[:, t] = flow.x[0]
    return out


def mackey_glass_series(
    n: int,
    n_samples: int,
    tau: float = 17.0,
    beta: float = 0.2,
    gamma: float = 0.1,
    power: float = 10.0,
    dt: float = 0.1,
    stride: int = 10,
    burn_in: int = 5000,
    seed: int = 0,
) -> np.ndarray:
    """(n, n_samples) values of x, one row per trajectory with a constant U(0.5, 1.5) history."""
    rng = np.random.default_rng(seed)
    delay = int(round(tau / dt))
    history = np.repeat(rng.uniform(0.5, 1.5, size=(n, 1)), delay + 1, axis=1)  # ring buffer of x
    now = delay  # index of x(t) in the ring; x(t - tau) sits at now + 1
    out = np.empty((n, n_samples))
    for step in range(burn_in + n_samples * stride):
        x, lagged = history[:, now], history[:, (now + 1) % (delay + 1)]
        now = (now + 1) % (delay + 1)
        history[:, now] = x + dt * (beta * lagged / (1.0 + lagged**power) - gamma * x)
        done = step - burn_in + 1
        if done > 0 and done % stride == 0:
            out[:, done // stride - 1] = history[:, now]
    return out
