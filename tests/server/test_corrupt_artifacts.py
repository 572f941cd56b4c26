"""A damaged artifact answers a one-line JSON error naming the run and the remedy, never a bare 500,
and a damaged weights file is never downloaded."""

from __future__ import annotations

from .helpers import assert_one_line_error


def flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_damaged_outputs_and_weights_answer_one_line_json(client, store_copy, comparison):
    ft = comparison.run("ft").run_id
    (store_copy / "runs" / ft / "outputs.npz").write_text("not a zip file")
    r = client.get(f"/api/runs/{ft}/attack")
    assert_one_line_error(r, 409)
    assert ft in r.json()["detail"] and "outputs.npz is damaged" in r.json()["detail"]

    ga = comparison.run("ga").run_id
    weights = store_copy / "runs" / ga / "weights.safetensors"
    flip(weights, weights.stat().st_size - 5)  # the tensor data: the header still parses
    r = client.get(f"/api/runs/{ga}/weights")
    assert_one_line_error(r, 409)
    assert "checksum mismatch" in r.json()["detail"] and "store check --repair" in r.json()["detail"]


def test_comparing_a_run_with_a_damaged_weights_header_answers_one_line(client, store_copy, comparison):
    ft, retrain = comparison.run("ft").run_id, comparison.run("retrain").run_id
    flip(store_copy / "runs" / ft / "weights.safetensors", 20)
    r = client.get("/api/compare", params={"a": ft, "b": retrain})
    assert_one_line_error(r, 409, f"run {ft}'s weights.safetensors is damaged")
