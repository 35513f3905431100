import sys, glob, numpy as np
sys.path.insert(0, '/work/main/src')
from stadswacht.detect.acoustic.evaluation import auc, recall_at_fpr
names = np.load('names.npy'); rf = np.load('rf_scores.npy')
ig = np.array([n.startswith(('belize_gunshot', 'freesound_gunshot')) for n in names])
folder = np.array([n.split('/')[0] for n in names])
def fig(s): return round(auc(s[ig], s[~ig]), 4), round(recall_at_fpr(s[ig], s[~ig])[0], 4)
def rank(s): return np.argsort(np.argsort(s)) / (len(s) - 1)
print('RF shipped', fig(rf))
for v in sorted({f.split('_')[2] for f in glob.glob('cnn_scores_*.npy')}):
    fs = sorted(glob.glob(f'cnn_scores_{v}_*.npy')); S = [np.load(f) for f in fs]
    for f, s in zip(fs, S): print(v, f.split('_')[-1][:-4], 'CNN', fig(s), 'CNN+RF avg', fig((s + rf) / 2))
    m = np.mean(S, 0)
    print(v, 'seed-ensemble', len(S), 'CNN', fig(m), 'CNN+RF avg', fig((m + rf) / 2), 'rank-avg', fig(rank(m) + rank(rf)))
    thr = recall_at_fpr(m[ig], m[~ig])[1]
    for fo in sorted(set(folder)):
        k = folder == fo; print('   ', fo, k.sum(), 'mean p', round(m[k].mean(), 3), 'above thr', round((m[k] > thr).mean(), 3))
    neg = np.where(~ig)[0]; top = neg[np.argsort(-m[neg])[:5]]
    print('    top negatives', [(names[i], round(m[i], 3)) for i in top])
    pos = np.where(ig)[0]; low = pos[np.argsort(m[pos])[:5]]
    print('    lowest positives', [(names[i], round(m[i], 3)) for i in low])
from stadswacht.detect.acoustic.evaluation import _bootstrap
import json
bz_g = folder == 'belize_gunshot'; bz_b = folder == 'belize_background'
def bz(s): return round(auc(s[bz_g], s[bz_b]), 4), round(recall_at_fpr(s[bz_g], s[bz_b])[0], 4)
print('RF belize-only', bz(rf), 'RF CI', _bootstrap(rf[ig], rf[~ig], np.random.default_rng(0)))
for v in ['fixed', 'fixednomix']:
    m = np.mean([np.load(f) for f in sorted(glob.glob(f'cnn_scores_{v}_*.npy'))], 0)
    print(v, 'ensemble belize-only', bz(m), 'CI', _bootstrap(m[ig], m[~ig], np.random.default_rng(0)))
    print(v, '+RF belize-only', bz((m + rf) / 2), 'CI', _bootstrap(((m + rf) / 2)[ig], ((m + rf) / 2)[~ig], np.random.default_rng(0)))
for f in sorted(glob.glob('result_*.json')):
    r = json.load(open(f)); t = [x[3] for x in r['fold_times']]
    print(f, 'params', r['params'], 'fold s: mean %.1f max %.1f total %.0f' % (np.mean(t), np.max(t), np.sum(t)))
