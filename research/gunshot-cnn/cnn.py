# Small log-mel CNN, gunshot vs other, leave-one-source-out exactly as heldout_scores groups.
# usage: python cnn.py SEED [variant]   -> writes cnn_scores_<variant>_<seed>.npy
import sys, time, math, json
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
from pathlib import Path
from stadswacht.detect.acoustic.dataset import load_clips
from stadswacht.detect.acoustic.audio import band_limit
from stadswacht.detect.acoustic import evaluation as ev

torch.set_num_threads(1)
# imported (export.py, bench/gunshot.py): the shipped "fixed" configuration, seed set per fit
_MAIN = __name__ == "__main__"
SEED = int(sys.argv[1]) if _MAIN else 0; VARIANT = (sys.argv[2] if len(sys.argv) > 2 else "base") if _MAIN else "fixed"
OPT = dict(mix_p=0.5, snr=(0.0, 30.0), perband=True, maxep=40, patience=8, width=(16, 32, 64, 64))
if "nomix" in VARIANT: OPT["mix_p"] = 0.0
if "scalar" in VARIANT: OPT["perband"] = False
if "fixed" in VARIANT: OPT["maxep"] = 30; OPT["fixed"] = True  # no inner val: fixed epochs, cosine LR, final weights
SR, N, HOP, NFFT, WIN, NMEL = 8000, 8000, 80, 256, 200, 64
PRE = 800  # 0.1 s before the peak, as loudest_window

def mel_fb(n_mels=NMEL, nfft=NFFT, sr=SR, fmin=100.0, fmax=3400.0):
    hz2m = lambda f: 2595 * np.log10(1 + f / 700); m2hz = lambda m: 700 * (10 ** (m / 2595) - 1)
    pts = m2hz(np.linspace(hz2m(fmin), hz2m(fmax), n_mels + 2))
    f = np.fft.rfftfreq(nfft, 1 / sr); fb = np.zeros((n_mels, f.size))
    for i in range(n_mels):
        l, c, r = pts[i:i + 3]
        fb[i] = np.clip(np.minimum((f - l) / (c - l), (r - f) / (r - c)), 0, None)
    return torch.tensor(fb, dtype=torch.float32)
FB = mel_fb(); WINDOW = torch.hann_window(WIN)

def logmel(x, perband):  # x: (B, N) -> (B, 1, NMEL, T), relative to the clip's own noise floor
    S = torch.stft(x, NFFT, HOP, WIN, WINDOW, center=True, return_complex=True).abs() ** 2
    M = 10 * torch.log10(FB @ S + 1e-10)
    if perband:
        floor = torch.quantile(M, 0.2, dim=2, keepdim=True)
    else:
        floor = torch.quantile(M.mean(1, keepdim=True), 0.2, dim=2, keepdim=True)
    return ((M - floor) / 20.0).clamp(-1.0, 5.0).unsqueeze(1)

class Net(nn.Module):
    def __init__(self, w):
        super().__init__(); layers = []; c = 1
        for k in w:
            layers += [nn.Conv2d(c, k, 3, padding=1, bias=False), nn.BatchNorm2d(k), nn.ReLU(), nn.MaxPool2d(2)]; c = k
        self.f = nn.Sequential(*layers); self.drop = nn.Dropout(0.3); self.out = nn.Linear(2 * c, 1)
    def forward(self, x):
        h = self.f(x); h = torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)
        return self.out(self.drop(h)).squeeze(1)

# --- data: every clip band-limited at 8 kHz, peak index as loudest_window finds it
import os  # bench/gunshot.py points GUNSHOT_CNN_AUDIO at its --audio directory
clips = load_clips(os.environ.get("GUNSHOT_CNN_AUDIO") or Path(__file__).resolve().parents[3] / "shared" / "data" / "audio")
W, PK = [], []
for c in clips:
    y = band_limit(c.whole, c.sample_rate).astype(np.float32)
    k = 16; e = np.convolve((y - y.mean()) ** 2, np.ones(k) / k, mode="same"); p = int(np.argmax(e))
    p = max(0, p - k) + int(np.argmax(np.abs(y[max(0, p - k): p + k + 1])))
    # pad by N each side and dither the whole clip at -70 dB re its peak, so short clean clips
    # (DCASE, Freesound) have no digital silence for the noise floor to latch onto
    yp = np.pad(y, (N, N)); dr = np.random.default_rng(len(W))
    yp = yp + (np.max(np.abs(y)) * 10 ** (-70 / 20) * dr.standard_normal(yp.size)).astype(np.float32)
    W.append(yp.astype(np.float32)); PK.append(p + N)
LAB = np.array([c.label == "gunshot" for c in clips], dtype=np.float32)
GROUPS = [c.group for c in clips]

def crop(i, pre):
    a = PK[i] - pre; return W[i][a:a + N]

def batch(idx, rng, train, noise_idx):
    xs = []
    for i in idx:
        pre = int(rng.integers(200, 2400)) if train else PRE  # time shift 25-300 ms before the peak
        x = crop(i, pre).astype(np.float64)
        if train:
            x = x * 10 ** (rng.uniform(-20, 20) / 20)
            if noise_idx and rng.random() < OPT["mix_p"]:
                j = noise_idx[int(rng.integers(len(noise_idx)))]
                w = W[j][N:-N]; a = int(rng.integers(0, max(1, w.size - N))); seg = np.pad(w[a:a + N], (0, max(0, N - w[a:a + N].size)))
                rms = math.sqrt(float(np.mean(seg ** 2))) + 1e-12
                snr = rng.uniform(*OPT["snr"])
                x = x + seg * (np.max(np.abs(x)) / rms) * 10 ** (-snr / 20)
        xs.append(x)
    X = logmel(torch.tensor(np.array(xs), dtype=torch.float32), OPT["perband"])
    if train:  # SpecAugment: one freq mask (<=8 bands), one time mask (<=10 frames)
        for b in range(X.shape[0]):
            f0 = int(rng.integers(0, NMEL - 8)); X[b, :, f0:f0 + int(rng.integers(0, 9))] = 0
            t0 = int(rng.integers(0, X.shape[3] - 10)); X[b, :, :, t0:t0 + int(rng.integers(0, 11))] = 0
    return X

def fit(train_idx, seed):
    rng = np.random.default_rng(seed); torch.manual_seed(seed)
    # inner validation: ~20% of the training fold's groups, stratified so both classes appear
    tg = sorted({GROUPS[i] for i in train_idx}); rng.shuffle(tg)
    val_g, haspos, hasneg = set(), False, False
    for g in tg:
        if len(val_g) >= max(2, len(tg) // 5) and haspos and hasneg: break
        val_g.add(g); lb = {LAB[i] for i in train_idx if GROUPS[i] == g}
        haspos |= 1.0 in lb; hasneg |= 0.0 in lb
    tr = [i for i in train_idx if GROUPS[i] not in val_g]; va = [i for i in train_idx if GROUPS[i] in val_g]
    if OPT.get("fixed"): tr = list(train_idx)
    noise = [i for i in tr if clips[i].folder == "belize_background"]
    net = Net(OPT["width"]); opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-3)
    pos = LAB[tr].sum(); pw = torch.tensor((len(tr) - pos) / max(pos, 1))
    Xva = batch(va, rng, False, None); yva = torch.tensor(LAB[va])
    best, bstate, bad = -1e9, None, 0
    if OPT.get("fixed"):
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, OPT["maxep"])
        for ep in range(OPT["maxep"]):
            net.train(); perm = rng.permutation(tr)
            for s in range(0, len(perm), 32):
                b = perm[s:s + 32]; X = batch(b, rng, True, noise); y = torch.tensor(LAB[b])
                loss = F.binary_cross_entropy_with_logits(net(X), y, pos_weight=pw)
                opt.zero_grad(); loss.backward(); opt.step()
            sched.step()
        net.eval(); return net, OPT["maxep"]
    for ep in range(OPT["maxep"]):
        net.train(); perm = rng.permutation(tr)
        for s in range(0, len(perm), 32):
            b = perm[s:s + 32]; X = batch(b, rng, True, noise); y = torch.tensor(LAB[b])
            loss = F.binary_cross_entropy_with_logits(net(X), y, pos_weight=pw)
            opt.zero_grad(); loss.backward(); opt.step()
        net.eval()
        with torch.no_grad():
            lv = net(Xva); vl = F.binary_cross_entropy_with_logits(lv, yva).item()
            p = lv.numpy(); a = ev.auc(p[yva.numpy() > 0], p[yva.numpy() == 0]) if 0 < yva.sum() < len(yva) else 0.5
        score = a - 0.1 * vl
        if score > best: best, bstate, bad = score, {k: v.clone() for k, v in net.state_dict().items()}, 0
        else:
            bad += 1
            if bad >= OPT["patience"]: break
    net.load_state_dict(bstate); net.eval(); return net, ep + 1

def predict(net, idx):
    with torch.no_grad():
        return torch.sigmoid(net(batch(idx, None, False, None))).numpy().astype(np.float64)

if __name__ == "__main__":
    n_params = sum(p.numel() for p in Net(OPT["width"]).parameters())
    out = np.full(len(clips), np.nan); log = []
    trainable = [i for i, c in enumerate(clips) if c.label is not None]
    folds = sorted({GROUPS[i] for i in trainable}) + ["__eval_only__"]
    for g in folds:
        t = time.time()
        if g == "__eval_only__":
            held = [i for i, c in enumerate(clips) if c.label is None]; rest = trainable
        else:
            held = [i for i in trainable if GROUPS[i] == g]; rest = [i for i in trainable if GROUPS[i] != g]
        net, eps = fit(rest, SEED * 1000 + folds.index(g))
        out[held] = predict(net, held)
        log.append((g, len(held), eps, round(time.time() - t, 1)))
        print(log[-1], flush=True)
    ig = LAB > 0
    r = dict(variant=VARIANT, seed=SEED, params=n_params, auc=ev.auc(out[ig], out[~ig]),
             recall=ev.recall_at_fpr(out[ig], out[~ig])[0], fold_times=log)
    np.save(f"cnn_scores_{VARIANT}_{SEED}.npy", out)
    print(json.dumps(r)); json.dump(r, open(f"result_{VARIANT}_{SEED}.json", "w"))
