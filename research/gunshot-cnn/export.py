# Train the shipped CNN ("fixed" configuration) on ALL real trainable clips, 3 seeds, and export
# the ensemble (batch norm folded into the convolutions) for the numpy forward pass in
# stadswacht.detect.acoustic.cnn. The ensemble (3 seeds, mean of probabilities) was decided
# before training, not chosen on any held-out figure.
# usage: PYTHONPATH=../../src /tmp/cnnvenv/bin/python export.py
# writes ../../src/stadswacht/detect/acoustic/cnn_weights.npz and
#        ../../tests/fixtures/acoustic/cnn_reference.npz
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cnn  # loads the clips; VARIANT "fixed" when imported

SEEDS = (0, 1, 2)
FORMAT = "stadswacht.acoustic.cnn/1"
REPO = Path(__file__).resolve().parents[2]
NETS = Path(tempfile.gettempdir()) / "cnn_export_nets.pt"  # for --reference-only


def folded(net):
    """Conv weights and biases with eval-mode batch norm folded in, plus the dense layer."""
    out, convs = {}, [m for m in net.f if isinstance(m, torch.nn.Conv2d)]
    bns = [m for m in net.f if isinstance(m, torch.nn.BatchNorm2d)]
    for i, (c, bn) in enumerate(zip(convs, bns, strict=True)):
        s = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
        out[f"conv{i}_w"] = (c.weight.detach() * s[:, None, None, None]).numpy().astype(np.float32)
        out[f"conv{i}_b"] = (bn.bias.detach() - bn.running_mean * s).numpy().astype(np.float32)
    out["dense_w"] = net.out.weight.detach().numpy()[0].astype(np.float32)
    out["dense_b"] = net.out.bias.detach().numpy().astype(np.float32)
    return out


def arrays(nets, info):
    """The npz contents for an ensemble: ``m{j}_conv{i}_w`` ... and the front-end constants."""
    d = {f"m{j}_{k}": v for j, net in enumerate(nets) for k, v in folded(net).items()}
    d["format"] = np.array(FORMAT)
    d["n_models"] = np.array(len(nets))
    d["info"] = np.array(json.dumps(info))
    return d


def train(train_idx, seeds):
    return [cnn.fit(list(train_idx), s)[0] for s in seeds]


def predict(nets, X):
    with torch.no_grad():
        return np.stack([torch.sigmoid(n(X)).numpy() for n in nets], 1).astype(np.float64)


def prepare(snippet, rate):
    """cnn.py's eval crop of one snippet: band-limit, loudest peak, pad, dither, 1 s window.
    The dither generator is seeded with 0, as in stadswacht.detect.acoustic.cnn."""
    y = cnn.band_limit(snippet, rate).astype(np.float32)
    k = 16
    e = np.convolve((y - y.mean()) ** 2, np.ones(k) / k, mode="same")
    p = int(np.argmax(e))
    p = max(0, p - k) + int(np.argmax(np.abs(y[max(0, p - k) : p + k + 1])))
    yp = np.pad(y, (cnn.N, cnn.N))
    dr = np.random.default_rng(0)
    yp = yp + (np.max(np.abs(y)) * 10 ** (-70 / 20) * dr.standard_normal(yp.size)).astype(
        np.float32
    )
    a = p + cnn.N - cnn.PRE
    return yp.astype(np.float32)[a : a + cnn.N]


def reference(nets):
    """Test fixture from SYNTHETIC snippets (the real clips' licences do not allow copying)."""
    from stadswacht.detect.acoustic import synth

    rng = np.random.default_rng(20261126)
    snips = [
        ("gunshot_8k", synth.synthesise_gunshot(rng, 8000, duration_s=1.0, onset_s=0.1), 8000),
        (
            "gunshot_48k_far",
            synth.synthesise_gunshot(rng, 48000, duration_s=0.5, onset_s=0.3, distance_m=300.0),
            48000,
        ),
        ("fireworks_16k", synth.synthesise_fireworks(rng, 16000)[:16000], 16000),
        ("ambient_8k", synth.synthesise_ambient(rng, 8000, 1.0), 8000),
        ("click_44k", np.r_[np.zeros(4410), 0.5, np.zeros(8000)], 44100),
        ("white_noise_8k", 0.1 * rng.standard_normal(8000), 8000),
        ("short_8k", 0.3 * rng.standard_normal(300), 8000),
        ("silence_8k", np.zeros(8000), 8000),
    ]
    wave = np.array(
        [prepare(np.asarray(x, dtype=np.float32), r) for _, x, r in snips], dtype=np.float32
    )
    X = cnn.logmel(torch.tensor(wave), True)
    p = predict(nets, X)
    ref = REPO / "tests/fixtures/acoustic/cnn_reference.npz"
    ref.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        ref,
        **{f"snippet_{j}": np.asarray(x, dtype=np.float32) for j, (_, x, _) in enumerate(snips)},
        rate=np.array([r for *_, r in snips]),
        logmel=X[:, 0].numpy(),
        p_models=p,
        p=p.mean(1),
        names=np.array([s[0] for s in snips]),
    )
    print("wrote", ref, ref.stat().st_size, "bytes")
    print(json.dumps(dict(names=[s[0] for s in snips], p=p.mean(1).round(4).tolist())))


if __name__ == "__main__" and sys.argv[1:] == ["--reference-only"]:  # reuse the saved nets
    nets = []
    for sd in torch.load(NETS):
        nets.append(cnn.Net(cnn.OPT["width"]))
        nets[-1].load_state_dict(sd)
        nets[-1].eval()
    reference(nets)
elif __name__ == "__main__":
    t = time.time()
    trainable = [i for i, c in enumerate(cnn.clips) if c.label is not None]
    nets = train(trainable, SEEDS)
    info = dict(
        variant=cnn.VARIANT,
        seeds=list(SEEDS),
        opt={k: v for k, v in cnn.OPT.items()},
        trained_on=f"{len(trainable)} real clips of ../shared/data/audio (all trainable)",
        n_gunshot=int(cnn.LAB[trainable].sum()),
        script="research/gunshot-cnn/export.py",
    )
    d = arrays(nets, info)
    dst = REPO / "src/stadswacht/detect/acoustic/cnn_weights.npz"
    np.savez_compressed(dst, **d)
    print("wrote", dst, dst.stat().st_size, "bytes;", round(time.time() - t, 1), "s")
    torch.save([n.state_dict() for n in nets], NETS)
    reference(nets)
