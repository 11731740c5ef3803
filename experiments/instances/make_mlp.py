"""Write mlp_expert.npz, the weights of the MLP expert of mlp_sat.toml (fixed seed, reproducible).

The network is u = W2 tanh(W1 x + b1) + b2 with 16 hidden units on the 2-state system of
mlp_sat.toml. W1 and b1 are random (seed 14); W2 is the least-squares fit of the linear feedback
u = K x, K = [[-0.4, -0.6]], on 4,000 states drawn from N(0, I); b2 then puts mu(0) = 0, so the
origin is an equilibrium of the closed loop. The expert is therefore close to K x near the origin
and bends away from it farther out; its certified Lipschitz bound ||W1|| ||W2|| is printed (the
checker reports it beside a sampled lower estimate).

Run from anywhere: ``python experiments/instances/make_mlp.py`` (overwrites the file next to it).
"""

from pathlib import Path

import numpy as np

K = np.array([[-0.4, -0.6]])
HIDDEN = 16
SEED = 14


def weights() -> dict:
    """The arrays W1, b1, W2, b2."""
    rng = np.random.default_rng(SEED)
    W1 = rng.standard_normal((HIDDEN, K.shape[1])) * 0.8
    b1 = rng.standard_normal(HIDDEN) * 0.3
    x = rng.standard_normal((4000, K.shape[1]))
    h = np.tanh(x @ W1.T + b1)
    W2 = np.linalg.lstsq(h, x @ K.T, rcond=None)[0].T
    b2 = -(np.tanh(b1) @ W2.T)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def main() -> None:
    out = Path(__file__).resolve().parent / "mlp_expert.npz"
    w = weights()
    np.savez(out, **w)
    lip = np.linalg.norm(w["W1"], 2) * np.linalg.norm(w["W2"], 2)
    print(f"wrote {out.name}: widths 2-{HIDDEN}-1, certified Lipschitz bound {lip:.4g} (||K|| = {np.linalg.norm(K, 2):.4g})")


if __name__ == "__main__":
    main()
