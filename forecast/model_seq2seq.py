"""Seq2Seq GRU encoder-decoder (10 days in, 5 out; decoder fed known-future features). PyTorch is imported here only."""
from __future__ import annotations

import io

import numpy as np


def _torch():
    try:
        import torch
    except ImportError as exc:
        raise ImportError("the Seq2Seq model needs PyTorch: pip install -e '.[nn]' (or run with --models arima,svr)") from exc
    return torch


def _build_net(n_in: int, n_fut: int, n_out: int, hidden: int):
    torch = _torch()
    nn = torch.nn

    class Seq2Seq(nn.Module):
        """GRU encoder over the past days; GRU decoder over the known-future features of T+1..T+5."""

        def __init__(self):
            super().__init__()
            self.encoder = nn.GRU(n_in, hidden, batch_first=True)
            self.decoder = nn.GRU(n_fut, hidden, batch_first=True)
            self.head = nn.Linear(hidden, n_out)

        def forward(self, past, fut):
            _, h = self.encoder(past)
            out, _ = self.decoder(fut, h)
            return self.head(out)  # (batch, 5, n_out)

    return Seq2Seq()


class Seq2SeqForecaster:
    """Trains the encoder-decoder on log-change targets; deterministic under ``seed`` on CPU."""

    def __init__(self, hidden: int = 32, epochs: int = 30, lr: float = 3e-3, batch: int = 256,
                 seed: int = 0, threads: int = 1, weight_decay: float = 1e-4):
        if hidden < 1 or epochs < 1 or batch < 1 or lr <= 0 or threads < 1:
            raise ValueError("hidden, epochs, batch, threads must be >= 1 and lr > 0")
        self.hidden, self.epochs, self.lr, self.batch = hidden, epochs, lr, batch
        self.seed, self.threads, self.weight_decay = seed, threads, weight_decay
        self.net = None

    def _prep(self, past: np.ndarray, fut: np.ndarray):
        torch = _torch()
        p = (past - self.mu_p) / self.sd_p
        f = (fut - self.mu_f) / self.sd_f
        return torch.as_tensor(p, dtype=torch.float32), torch.as_tensor(f, dtype=torch.float32)

    def fit(self, past: np.ndarray, fut: np.ndarray, Z: np.ndarray, val: tuple | None = None, on_epoch=None) -> "Seq2SeqForecaster":
        """Fit on past (n, 10, E), fut (n, 5, G), Z (n, n_targets, 5); keep the epoch best on ``val`` if given."""
        torch = _torch()
        torch.manual_seed(self.seed)
        torch.set_num_threads(self.threads)
        torch.use_deterministic_algorithms(True)
        if len(past) < 10:
            raise ValueError("training data: need at least 10 forecast origins for the Seq2Seq model")
        self.mu_p, self.sd_p = past.mean(axis=(0, 1)), past.std(axis=(0, 1)) + 1e-8
        self.mu_f, self.sd_f = fut.mean(axis=(0, 1)), fut.std(axis=(0, 1)) + 1e-8
        zt = np.transpose(Z, (0, 2, 1))  # (n, 5, n_targets)
        self.mu_z, self.sd_z = zt.mean(axis=(0, 1)), zt.std(axis=(0, 1)) + 1e-8
        P, F = self._prep(past, fut)
        Y = torch.as_tensor((zt - self.mu_z) / self.sd_z, dtype=torch.float32)
        self.net = _build_net(past.shape[2], fut.shape[2], Z.shape[1], self.hidden)
        opt = torch.optim.Adam(self.net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        rng = np.random.default_rng(self.seed)
        best, best_state = np.inf, None
        self.best_epochs = self.epochs
        for epoch in range(self.epochs):
            self.net.train()
            perm = rng.permutation(len(P))
            for s in range(0, len(P), self.batch):
                b = torch.as_tensor(perm[s:s + self.batch])
                opt.zero_grad()
                loss = torch.mean((self.net(P[b], F[b]) - Y[b]) ** 2)
                loss.backward()
                opt.step()
            if val is not None:
                vp, vf, vz = val
                err = float(np.mean((self.predict_change(vp, vf) - vz) ** 2))
                if err < best:
                    best, best_state = err, {k: v.clone() for k, v in self.net.state_dict().items()}
                    self.best_epochs = epoch + 1
            if on_epoch is not None:
                on_epoch()
        if best_state is not None:
            self.net.load_state_dict(best_state)
        return self

    def predict_change(self, past: np.ndarray, fut: np.ndarray) -> np.ndarray:
        """Predicted log changes, shape (n, n_targets, 5)."""
        torch = _torch()
        if self.net is None:
            raise RuntimeError("Seq2Seq model is not trained")
        torch.set_num_threads(self.threads)
        self.net.eval()
        P, F = self._prep(past, fut)
        with torch.no_grad():
            out = self.net(P, F).numpy() * self.sd_z + self.mu_z
        return np.transpose(out, (0, 2, 1))

    def __getstate__(self):
        state = dict(self.__dict__)
        if self.net is not None:
            torch = _torch()
            buf = io.BytesIO()
            torch.save(self.net.state_dict(), buf)
            state["net"] = buf.getvalue()
            state["_shape"] = (len(self.mu_p), len(self.mu_f), len(self.mu_z))
        return state

    def __setstate__(self, state):
        blob = state.get("net")
        self.__dict__.update(state)
        if isinstance(blob, bytes):
            torch = _torch()
            n_in, n_fut, n_out = state["_shape"]
            self.net = _build_net(n_in, n_fut, n_out, self.hidden)
            self.net.load_state_dict(torch.load(io.BytesIO(blob)))
