"""The standard data sets, end to end on tiny files in their real formats (see formats.py)."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from unlearnlab.data import STANDARD, available, load_dataset, load_from_spec, parse_forget, select_forget
from unlearnlab.data import download
from unlearnlab.data.roots import ENV, resolve_data_root
from unlearnlab.errors import BadInput

from .formats import (CIFAR10_NAMES, COARSE_NAMES, FINE_NAMES, WRITERS, idx_bytes, py2_pickle, tiny, trust,
                      write_cifar10, write_cifar100, write_idx_set)


def bad(fn, *needles: str) -> str:
    with pytest.raises(BadInput) as info:
        fn()
    msg = str(info.value)
    assert "\n" not in msg and "Traceback" not in msg, msg
    for needle in needles:
        assert needle in msg, (needle, msg)
    return msg


def files_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


# --- every standard loader, end to end --------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in STANDARD.names() if STANDARD.get(n).read is not None])
def test_loader_reads_its_official_format_keeps_the_split_and_normalises_once(name, tmp_path, monkeypatch):
    raw = tiny(name, tmp_path, monkeypatch)
    spec = STANDARD.get(name)
    ds = load_dataset(name, data_root=tmp_path)
    mean = np.asarray(spec.mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(spec.std, np.float32).reshape(1, -1, 1, 1)
    y_key = "coarse_{}" if name == "cifar20" else ("fine_{}" if name == "cifar100" else "y_{}")
    for part in ("train", "test"):
        x = getattr(ds, f"x_{part}")
        assert x.dtype == np.float32 and x.flags.c_contiguous and x.shape == raw[part].shape
        np.testing.assert_allclose(x, (raw[part] / 255.0 - mean) / std, rtol=0, atol=2e-6)
        np.testing.assert_array_equal(getattr(ds, f"y_{part}"), raw[y_key.format(part)])
    assert ds.num_classes == spec.num_classes and len(ds.class_names) == spec.num_classes
    assert ds.params == {"data_root": str(tmp_path)}
    described = ds.describe()
    assert described["info"]["normalize"] == {"mean": list(spec.mean), "std": list(spec.std),
                                              "from": spec.constants_from}
    assert described["info"]["split"] == "official"
    assert available(tmp_path) == [n for n in STANDARD.names() if n in WRITERS and _same_files(n, name)]
    bad(lambda: load_dataset(name, data_root=tmp_path, test_size=0.2), "test_size=0.2", name, "official")


def _same_files(other: str, name: str) -> bool:
    return STANDARD.get(other).files == STANDARD.get(name).files


def test_class_names_come_from_the_meta_files(tmp_path, monkeypatch):
    tiny("cifar10", tmp_path / "a", monkeypatch)
    assert load_dataset("cifar10", data_root=tmp_path / "a").class_names == tuple(CIFAR10_NAMES)
    tiny("cifar100", tmp_path / "b", monkeypatch)
    assert load_dataset("cifar100", data_root=tmp_path / "b").class_names == tuple(FINE_NAMES)
    assert load_dataset("cifar20", data_root=tmp_path / "b").class_names == tuple(COARSE_NAMES)
    tiny("fashion_mnist", tmp_path / "c", monkeypatch)
    assert load_dataset("fashion_mnist", data_root=tmp_path / "c").class_names[9] == "Ankle boot"


def test_svhn_maps_label_10_to_digit_0(tmp_path, monkeypatch):
    raw = tiny("svhn", tmp_path, monkeypatch)
    ds = load_dataset("svhn", data_root=tmp_path)
    assert (ds.y_train == 0).sum() == (raw["y_train"] == 0).sum() > 0 and ds.y_train.max() == 9


def test_mnist_reads_torchvision_layout_with_files_unpacked_too(tmp_path, monkeypatch):
    # torchvision keeps both the .gz and the unpacked file: the unpacked one is read (no md5 is published for
    # it), and a folder holding only unpacked files is found as well
    raw = write_idx_set(tmp_path, "MNIST", gz=False, plain=True)
    ds = load_dataset("mnist", data_root=tmp_path)
    np.testing.assert_array_equal(ds.y_test, raw["y_test"])
    assert ds.x_train.shape == (30, 1, 28, 28)


def test_fingerprint_is_stable_and_cheap_to_recompute(tmp_path, monkeypatch):
    tiny("cifar20", tmp_path, monkeypatch)
    a, b = load_dataset("cifar20", data_root=tmp_path), load_dataset("cifar20", data_root=tmp_path)
    assert a.fingerprint == b.fingerprint
    c = load_dataset("cifar100", data_root=tmp_path)
    assert c.fingerprint != a.fingerprint  # other labels, other data set


# --- cifar20 and `subclass:` ------------------------------------------------------------------------


def test_cifar20_keeps_fine_labels_and_subclass_selects_exactly_that_fine_class(tmp_path, monkeypatch):
    raw = tiny("cifar20", tmp_path, monkeypatch)
    ds = load_dataset("cifar20", data_root=tmp_path)
    np.testing.assert_array_equal(ds.fine_train, raw["fine_train"])
    np.testing.assert_array_equal(ds.fine_test, raw["fine_test"])
    assert ds.fine_names == tuple(FINE_NAMES) and ds.describe()["num_fine_classes"] == 100
    by_name = select_forget(parse_forget("subclass:rocket"), ds)
    np.testing.assert_array_equal(by_name, np.flatnonzero(raw["fine_train"] == 69))
    assert len(by_name) == 2
    np.testing.assert_array_equal(select_forget(parse_forget("subclass:69"), ds), by_name)
    # its super-class keeps its other fine classes in the retain set
    sup = raw["coarse_train"][by_name[0]]
    retained = np.setdiff1d(np.arange(ds.n_train), by_name)
    assert (ds.y_train[retained] == sup).any()
    both = select_forget(parse_forget("subclass:rocket,3"), ds)
    np.testing.assert_array_equal(both, np.flatnonzero(np.isin(raw["fine_train"], [69, 3])))


def test_subclass_errors_name_the_value(tmp_path, monkeypatch):
    tiny("cifar20", tmp_path, monkeypatch)
    ds = load_dataset("cifar20", data_root=tmp_path)
    bad(lambda: select_forget(parse_forget("subclass:rockett"), ds), "'rockett'", "did you mean 'rocket'")
    bad(lambda: select_forget(parse_forget("subclass:100"), ds), "100", "[0, 99]")
    bad(lambda: select_forget(parse_forget("subclass:99"), ds), "'fine99'", "no training samples")
    bad(lambda: select_forget(parse_forget("subclass:rocket,69"), ds), "'rocket'", "twice")
    tiny("cifar10", tmp_path / "c10", monkeypatch)
    c10 = load_dataset("cifar10", data_root=tmp_path / "c10")
    bad(lambda: select_forget(parse_forget("subclass:rocket"), c10), "fine labels", "'cifar10'")


# --- missing, offline, corrupted ----------------------------------------------------------------------


@pytest.mark.parametrize("name", STANDARD.names())
def test_missing_files_offline_say_which_files_to_put_where_and_leave_nothing(name, tmp_path):
    spec = STANDARD.get(name)
    msg = bad(lambda: load_dataset(name, data_root=tmp_path), f"{name}: files not found under",
              "the download failed", "network disabled in tests", "download ")
    first = download.SOURCES[spec.archive or spec.files[0]][0]
    assert first.rsplit("/", 1)[0] in msg and str(tmp_path) in msg
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("name", STANDARD.names())
def test_a_corrupted_file_fails_its_checksum_by_name(name, tmp_path):
    WRITERS[name](tmp_path)  # tiny files: not the official bytes, so the real table refuses the first one read
    algorithm = "sha256" if len(download.CHECKSUMS[STANDARD.get(name).archive or STANDARD.get(name).files[0]]) == 64 \
        else "md5"
    msg = bad(lambda: load_dataset(name, data_root=tmp_path), f"is corrupted or truncated ({algorithm}", "official")
    assert str(tmp_path) in msg


def _cut(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])


@pytest.mark.parametrize("name", STANDARD.names())
def test_a_truncated_file_with_a_matching_checksum_is_still_refused_by_name(name, tmp_path, monkeypatch):
    # The format checks behind the checksum: a truncated pickle, IDX or .mat file is one line naming it.
    WRITERS[name](tmp_path)
    spec = STANDARD.get(name)
    victim = tmp_path / spec.files[0]
    _cut(victim)
    trust(monkeypatch, tmp_path)
    bad(lambda: load_dataset(name, data_root=tmp_path), str(victim), "corrupted or truncated")


def test_idx_errors_name_the_file(tmp_path, monkeypatch):
    raw = tmp_path / "MNIST" / "raw"
    write_idx_set(tmp_path, "MNIST")
    labels = raw / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(idx_bytes(np.arange(29, dtype=np.uint8) % 10)))  # one label short
    trust(monkeypatch, tmp_path)
    bad(lambda: load_dataset("mnist", data_root=tmp_path), str(labels), "29 labels for the 30 images")
    labels.write_bytes(gzip.compress(b"\x00\x00\x0d\x01" + b"\x00" * 8))  # float IDX: not MNIST's type
    trust(monkeypatch, tmp_path)
    bad(lambda: load_dataset("mnist", data_root=tmp_path), str(labels), "header 00000d01")
    labels.write_bytes(gzip.compress(idx_bytes(np.full(30, 11, dtype=np.uint8))))
    trust(monkeypatch, tmp_path)
    bad(lambda: load_dataset("mnist", data_root=tmp_path), str(labels), "label 11")
    labels.write_bytes(gzip.compress(idx_bytes(np.zeros(30, np.uint8)))[:-12])  # gzip stream cut
    trust(monkeypatch, tmp_path)
    bad(lambda: load_dataset("mnist", data_root=tmp_path), str(labels), "corrupted or truncated")


def test_svhn_mat_with_the_wrong_arrays_is_refused_by_name(tmp_path, monkeypatch):
    WRITERS["svhn"](tmp_path)
    savemat(tmp_path / "test_32x32.mat", {"X": np.zeros((28, 28, 1, 3), np.uint8), "y": np.ones((3, 1))})
    trust(monkeypatch, tmp_path)
    bad(lambda: load_dataset("svhn", data_root=tmp_path), "test_32x32.mat", "(32, 32, 3, N)")
    savemat(tmp_path / "test_32x32.mat", {"X": np.zeros((32, 32, 3, 3), np.uint8), "y": np.zeros((3, 1))})
    trust(monkeypatch, tmp_path)
    bad(lambda: load_dataset("svhn", data_root=tmp_path), "test_32x32.mat", "outside 1-10")


class _Boom:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_hostile_pickle_is_refused_without_running_anything(tmp_path, monkeypatch):
    write_cifar10(tmp_path)
    marker = tmp_path / "ran"
    batch = tmp_path / "cifar-10-batches-py" / "data_batch_3"
    batch.write_bytes(py2_pickle({"data": _Boom(marker), "labels": []}))
    trust(monkeypatch, tmp_path)  # even a file the table trusted
    bad(lambda: load_dataset("cifar10", data_root=tmp_path), str(batch), "posix.system", "never does")
    assert not marker.exists()


def test_cifar_batch_of_the_wrong_shape_is_refused_by_name(tmp_path, monkeypatch):
    write_cifar10(tmp_path)
    batch = tmp_path / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(py2_pickle({"data": np.zeros((4, 1024), np.uint8), "labels": [0, 1, 2, 3]}))
    trust(monkeypatch, tmp_path)
    bad(lambda: load_dataset("cifar10", data_root=tmp_path), str(batch), "(N, 3072)")
    batch.write_bytes(py2_pickle({"data": np.zeros((4, 3072), np.uint8), "labels": [0, 1, 2]}))
    trust(monkeypatch, tmp_path)
    bad(lambda: load_dataset("cifar10", data_root=tmp_path), str(batch), "4 integer labels")


# --- the data root --------------------------------------------------------------------------------------


def test_data_root_precedence_explicit_then_env_then_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(ENV, raising=False)
    cached = resolve_data_root()
    assert cached.path == tmp_path / "cache" / "unlearnlab" / "data" and cached.create
    monkeypatch.setenv(ENV, str(tmp_path / "env"))
    assert resolve_data_root().path == tmp_path / "env" and not resolve_data_root().create
    assert resolve_data_root(tmp_path / "x").path == tmp_path / "x"
    monkeypatch.chdir(tmp_path)
    assert resolve_data_root("rel").path == tmp_path / "rel"  # recorded absolute


def test_data_root_must_exist_and_be_a_folder_unless_it_is_the_cache(tmp_path, monkeypatch):
    bad(lambda: load_dataset("cifar10", data_root=tmp_path / "nope"), "does not exist", "--data-root")
    (tmp_path / "file").write_text("x")
    bad(lambda: load_dataset("mnist", data_root=tmp_path / "file"), "is not a directory")
    monkeypatch.setenv(ENV, str(tmp_path / "nope"))
    bad(lambda: load_dataset("svhn"), f"${ENV}", "does not exist")
    monkeypatch.delenv(ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bad(lambda: load_dataset("svhn"), "download failed")  # the cache is created, then the download fails
    assert (tmp_path / "cache" / "unlearnlab" / "data").is_dir()


def test_data_root_from_the_environment_is_read(tmp_path, monkeypatch):
    tiny("mnist", tmp_path, monkeypatch)
    monkeypatch.setenv(ENV, str(tmp_path))
    assert load_dataset("mnist").params == {"data_root": str(tmp_path)}


def test_data_root_reaches_only_loaders_that_read_one(tmp_path, monkeypatch):
    assert load_dataset("digits", data_root=tmp_path / "ignored").params == {"seed": 0, "test_size": 0.2}
    bad(lambda: load_from_spec("cifar10:data_root=/elsewhere", data_root=tmp_path), "give it once")
    tiny("mnist", tmp_path, monkeypatch)
    assert load_from_spec(f"mnist:data_root={tmp_path}").params == {"data_root": str(tmp_path)}
    assert load_from_spec("mnist", data_root=tmp_path).params == {"data_root": str(tmp_path)}


# --- downloads, against a server on this machine -----------------------------------------------------


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; paths under /cut/ send half of the file they
    announce, /missing/ is a 404."""
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    www = tmp_path / "www"
    www.mkdir()

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.startswith("/cut/"):
                data = (www / self.path[5:]).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.close_connection = True
                return
            super().do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(www)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _publish(monkeypatch, sources: dict[str, tuple[str, ...]], checksums: dict[str, str]) -> None:
    monkeypatch.setattr(download, "SOURCES", {**download.SOURCES, **sources})
    monkeypatch.setattr(download, "CHECKSUMS", {**download.CHECKSUMS, **checksums})


def _cifar10_archive(tmp_path: Path, www: Path) -> tuple[Path, dict]:
    from .formats import md5, tar_gz

    made = tmp_path / "made"
    raw = write_cifar10(made)
    archive = tar_gz(made / "cifar-10-batches-py", www / "cifar-10-python.tar.gz")
    sums = {f"cifar-10-batches-py/{p.name}": md5(p) for p in (made / "cifar-10-batches-py").iterdir()}
    sums["cifar-10-python.tar.gz"] = md5(archive)
    return archive, {"raw": raw, "sums": sums}


def test_download_verifies_extracts_and_loads(server, tmp_path, monkeypatch):
    www, base = server
    archive, made = _cifar10_archive(tmp_path, www)
    _publish(monkeypatch, {"cifar-10-python.tar.gz": (base + "missing/x.tar.gz", base + archive.name)}, made["sums"])
    root = tmp_path / "root"
    root.mkdir()
    ds = load_dataset("cifar10", data_root=root)  # the first address is a 404: the second serves it
    np.testing.assert_array_equal(ds.y_train, made["raw"]["y_train"])
    # the archive was a temporary download: only the unpacked folder is left
    assert files_under(root) == ["cifar-10-batches-py"] + sorted(
        f"cifar-10-batches-py/{n}" for n in ("batches.meta", "test_batch", *(f"data_batch_{i}" for i in range(1, 6))))


def test_download_with_a_wrong_checksum_is_refused_and_leaves_nothing(server, tmp_path, monkeypatch):
    www, base = server
    archive, made = _cifar10_archive(tmp_path, www)
    _publish(monkeypatch, {"cifar-10-python.tar.gz": (base + archive.name,)},
             {**made["sums"], "cifar-10-python.tar.gz": "0" * 32})
    root = tmp_path / "root"
    root.mkdir()
    bad(lambda: load_dataset("cifar10", data_root=root), "download failed", "md5", "not the published",
        "extract it into")
    assert files_under(root) == []


def test_truncated_download_is_refused_and_leaves_nothing(server, tmp_path, monkeypatch):
    www, base = server
    archive, made = _cifar10_archive(tmp_path, www)
    _publish(monkeypatch, {"cifar-10-python.tar.gz": (base + "cut/" + archive.name,)}, made["sums"])
    root = tmp_path / "root"
    root.mkdir()
    bad(lambda: load_dataset("cifar10", data_root=root), "download failed", "cut/cifar-10-python.tar.gz")
    assert files_under(root) == []


def test_archive_with_a_member_outside_its_folder_is_not_unpacked(server, tmp_path, monkeypatch):
    from .formats import md5, tar_gz

    www, base = server
    made = tmp_path / "made"
    write_cifar10(made)
    archive = tar_gz(made / "cifar-10-batches-py", www / "evil.tar.gz", extra={"../escape.txt": b"x"})
    _publish(monkeypatch, {"cifar-10-python.tar.gz": (base + archive.name,)}, {"cifar-10-python.tar.gz": md5(archive)})
    root = tmp_path / "root"
    root.mkdir()
    bad(lambda: load_dataset("cifar10", data_root=root), "'../escape.txt'", "not a plain file")
    assert files_under(root) == [] and not (tmp_path / "escape.txt").exists()


def test_idx_files_are_fetched_one_by_one_from_the_mirrors(server, tmp_path, monkeypatch):
    www, base = server
    raw = write_idx_set(www, "pub")
    sources, sums = {}, {}
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        rel = f"FashionMNIST/raw/{name}"
        sources[rel] = (base + "missing/" + name, base + "pub/raw/" + name)
        sums[rel] = hashlib.md5((www / "pub" / "raw" / name).read_bytes()).hexdigest()
    _publish(monkeypatch, sources, sums)
    root = tmp_path / "root"
    root.mkdir()
    ds = load_dataset("fashion_mnist", data_root=root)
    np.testing.assert_array_equal(ds.y_train, raw["y_train"])
    assert files_under(root) == ["FashionMNIST", "FashionMNIST/raw"] + sorted(sources)


def test_an_archive_the_user_put_in_the_root_is_verified_unpacked_and_kept(tmp_path, monkeypatch):
    from .formats import md5, tar_gz

    made = tmp_path / "made"
    raw = write_cifar100(made)
    root = tmp_path / "root"
    root.mkdir()
    archive = tar_gz(made / "cifar-100-python", root / "cifar-100-python.tar.gz")
    sums = {f"cifar-100-python/{p.name}": md5(p) for p in (made / "cifar-100-python").iterdir()}
    _publish(monkeypatch, {}, {**sums, "cifar-100-python.tar.gz": md5(archive)})
    ds = load_dataset("cifar20", data_root=root)
    np.testing.assert_array_equal(ds.fine_train, raw["fine_train"])
    assert archive.is_file()


def test_fetch_shows_a_progress_bar_when_asked(server, tmp_path, monkeypatch, capsys):
    www, base = server
    (www / "f.bin").write_bytes(b"x" * 5000)
    _publish(monkeypatch, {"f.bin": (base + "f.bin",)}, {"f.bin": hashlib.md5(b"x" * 5000).hexdigest()})
    download.fetch("f.bin", tmp_path, progress=True)
    assert "downloading f.bin" in capsys.readouterr().err
    assert (tmp_path / "f.bin").read_bytes() == b"x" * 5000


def test_a_file_without_a_known_checksum_is_never_downloaded(server, tmp_path, monkeypatch):
    www, base = server
    (www / "g.bin").write_bytes(b"data")
    monkeypatch.setattr(download, "SOURCES", {"g.bin": (base + "g.bin",)})
    with pytest.raises(download.DownloadFailed, match="no checksum"):
        download.fetch("g.bin", tmp_path)
    assert not (tmp_path / "g.bin").exists()
    with pytest.raises(TypeError):
        download.CHECKSUMS["g.bin"] = "0" * 32  # the real table is read-only


def test_a_fine_class_under_two_super_classes_is_refused_by_name(tmp_path, monkeypatch):
    write_cifar100(tmp_path)
    train = tmp_path / "cifar-100-python" / "train"
    x = np.zeros((3, 3072), np.uint8)
    train.write_bytes(py2_pickle({"data": x, "fine_labels": [5, 5, 6], "coarse_labels": [5, 6, 6]}))
    trust(monkeypatch, tmp_path)
    bad(lambda: load_dataset("cifar20", data_root=tmp_path), str(train), "fine class 5", "two super-classes")


def test_fingerprint_hashes_in_place_the_bytes_tobytes_would_give():
    import json

    from unlearnlab.data import from_arrays

    rng = np.random.default_rng(0)
    ds = from_arrays(rng.normal(size=(30, 2, 3)), np.arange(30) % 3, groups=np.array([f"g{i % 4}" for i in range(30)]))
    h = hashlib.sha256()  # the definition, with a copy of each array
    h.update(json.dumps([ds.name, ds.num_classes, list(ds.class_names)]).encode() + b"\n")
    for key in ("x_train", "y_train", "x_test", "y_test", "groups_train", "groups_test"):
        a = getattr(ds, key)
        h.update(f"{key}|{a.dtype.str}|{a.shape}|{a.nbytes}\n".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    assert ds.fingerprint == h.hexdigest()
