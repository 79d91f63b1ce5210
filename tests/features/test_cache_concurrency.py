"""Many processes filling and reading one feature cache at once: every read is a whole, correct entry.

Four OS processes (separate interpreters, as the processes/ray executors' workers are)
extract the same files' features into one empty cache at the same moment, then keep
rewriting and re-reading every entry. Each compares every tensor it gets with the
features the test computed without a cache, and counts corrupt entries (a torn file
would fail to parse or fail its checksum).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import soundfile as sf
import torch
from testaudio import tone

from emoconv.features import FeatureCache, FeatureConfig, extract_features

WORKER = r'''
import json, sys, time
import torch
torch.set_num_threads(1)
from emoconv.features import FeatureCache, FeatureConfig, extract_features

root, files, go_at = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
expected = torch.load(sys.argv[4])
cfg = FeatureConfig(kind="logmel", n_mels=16)
cache = FeatureCache(root)
while time.time() < go_at:  # start together
    time.sleep(0.001)
wrong = 0
feats = extract_features(cfg, files, cache=cache)  # concurrent first fill
wrong += sum(not torch.equal(f, e) for f, e in zip(feats, expected))
reads = 0
for _ in range(15):
    for path, e in zip(files, expected):
        cache.put(cfg, path, e)  # rewrite while the others read
        got = cache.get(cfg, path)
        reads += got is not None
        wrong += got is not None and not torch.equal(got, e)
print(json.dumps({"wrong": wrong, "reads": reads, **cache.stats()}))
'''


def test_concurrent_writers_and_readers_see_whole_correct_entries(tmp_path):
    files = []
    for i in range(6):
        path = tmp_path / f"a{i}.wav"
        sf.write(path, tone(0.3 + 0.05 * i, seed=i), 16000)
        files.append(str(path))
    cfg = FeatureConfig(kind="logmel", n_mels=16)
    expected = extract_features(cfg, files)  # no cache
    torch.save(expected, tmp_path / "expected.pt")
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    import time

    go_at = time.time() + 6.0  # after every interpreter has imported torch
    procs = [subprocess.Popen([sys.executable, str(script), str(tmp_path / "cache"), json.dumps(files), str(go_at),
                               str(tmp_path / "expected.pt")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    for r in results:
        assert r["wrong"] == 0 and r["corrupt"] == 0
        assert r["reads"] == 15 * len(files)  # every read after a put was a hit
    cache = FeatureCache(tmp_path / "cache")
    for path, e in zip(files, expected):
        assert torch.equal(cache.get(cfg, path), e)
    entries = list((tmp_path / "cache").rglob("*.safetensors"))
    assert len(entries) == len(files)
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.suffix == ".tmp"]
    assert np.isfinite(np.concatenate([e.numpy().ravel() for e in expected])).all()
