# Reproduce the shipped RF's held-out scores (same code path as heldout_scores) and save them.
import time, numpy as np
from pathlib import Path
from stadswacht.detect.acoustic.dataset import load_clips
from stadswacht.detect.acoustic import evaluation as ev
from stadswacht.detect.acoustic.classifier import CLASSES, Classifier
from stadswacht.detect.acoustic.features import features
t=time.time()
clips = load_clips(Path(__file__).resolve().parents[3] / 'shared' / 'data' / 'audio')
gun = CLASSES.index('gunshot')
cached = {id(c): features(c.snippet, c.sample_rate) for c in clips}
cf = lambda c: cached[id(c)]
def ours(train, test):
    x, y = ev.training_set(train, seed=ev.TRAIN_SEED, n_synthetic=ev.N_SYNTHETIC, clip_features=cf)
    m = Classifier.fit(x, y, seed=ev.TRAIN_SEED, n_estimators=None)
    return m.predict(np.array([cf(c) for c in test]))[:, gun]
s = ev._grouped_scores(clips, ours, [c.group for c in clips])
is_gun = np.array([c.label == 'gunshot' for c in clips])
np.save('rf_scores.npy', s)
np.save('names.npy', np.array([c.folder+'/'+c.name for c in clips]))
print('AUC', ev.auc(s[is_gun], s[~is_gun]), 'recall', ev.recall_at_fpr(s[is_gun], s[~is_gun]), 'time', time.time()-t)
