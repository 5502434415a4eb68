"""Per-class diagnostics against answers known by hand: class shares, softmax confidences, total
variation, and nearest neighbours in pixel and feature space."""
import math

import pytest
import torch

from lib.diagnostics import (class_histogram, confidence, misrepresented_classes, nearest_neighbours,
                             total_variation)


def one_hot_logits(classes, num_classes=10, gap=5.0):
    logits = torch.zeros(len(classes), num_classes)
    logits[torch.arange(len(classes)), torch.as_tensor(classes)] = gap
    return logits


def test_class_histogram_counts_the_argmax_of_each_image():
    classes = [0, 0, 1, 3, 3, 3, 9, 9]  # 2, 1, 3 and 2 of 8 images
    p = class_histogram(one_hot_logits(classes))
    expected = torch.zeros(10, dtype=torch.float64)
    expected[[0, 1, 3, 9]] = torch.tensor([2, 1, 3, 2], dtype=torch.float64) / 8
    assert p.dtype == torch.float64 and torch.equal(p, expected)
    assert class_histogram(one_hot_logits([4] * 5)).tolist() == [0, 0, 0, 0, 1.0, 0, 0, 0, 0, 0]


def test_confidence_is_the_largest_softmax_probability():
    # softmax of (0, log 3) is (1/4, 3/4); equal logits give 1/C; a large gap gives 1
    logits = torch.tensor([[0.0, math.log(3.0)], [2.0, 2.0], [0.0, 200.0]], dtype=torch.float64)
    assert confidence(logits).tolist() == pytest.approx([0.75, 0.5, 1.0], abs=1e-15)
    assert confidence(torch.zeros(3, 10)).tolist() == pytest.approx([0.1] * 3, abs=1e-15)


def test_total_variation_of_class_histograms():
    p = torch.tensor([0.5, 0.5, 0.0])
    assert total_variation(p, p) == 0
    assert total_variation(p, torch.tensor([0.0, 0.5, 0.5])) == pytest.approx(0.5)  # half the mass moves
    assert total_variation(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])) == 1  # disjoint
    assert total_variation(torch.full((10,), 0.1), torch.eye(10)[3]) == pytest.approx(0.9)  # one class of ten


def test_misrepresented_classes_compare_shares_by_their_ratio():
    q = torch.full((5,), 0.2)
    p = torch.tensor([0.5, 0.31, 0.1, 0.09, 0.0])  # ratios 2.5, 1.55, 0.5, 0.45, 0
    assert misrepresented_classes(p, q) == ([0, 1], [4, 3, 2])  # furthest from q first
    assert misrepresented_classes(p, q, factor=2) == ([0], [4, 3])  # 0.1 is not below 0.2 / 2
    assert misrepresented_classes(q, q) == ([], [])
    with pytest.raises(ValueError, match="factor"):
        misrepresented_classes(p, q, factor=1)


def test_nearest_neighbours_in_pixel_space_are_exact():
    g = torch.Generator().manual_seed(0)
    train = torch.randint(0, 256, (300, 1, 28, 28), generator=g, dtype=torch.uint8)
    train[7] = 0  # all black
    train[8] = 255  # all white
    query = train[[5, 7, 42]].clone()
    query[2, 0, 3, 4] = 255 - int(query[2, 0, 3, 4] > 127) * 255  # one pixel moved by at least 128/255
    d, i = nearest_neighbours(query, train, k=2)
    assert i[:, 0].tolist() == [5, 7, 42]
    assert d[0, 0] == 0 and d[1, 0] == 0  # copies are at distance exactly 0
    changed = abs(int(query[2, 0, 3, 4]) - int(train[42, 0, 3, 4]))
    assert d[2, 0].item() == pytest.approx(changed / 255, rel=1e-15)
    # the black image's second neighbour: the random image with the smallest sum of squares
    sq = (train.double() / 255).flatten(1).pow(2).sum(1)
    sq[7] = float("inf")
    assert i[1, 1] == sq.argmin() and d[1, 1].item() == pytest.approx(sq.min().sqrt().item(), rel=1e-12)
    d_bw, _ = nearest_neighbours(train[8:9], train[7:8])
    assert d_bw.item() == 28.0  # white against black: sqrt(784) pixels of distance 1


def test_nearest_neighbours_in_feature_space_sorted_nearest_first():
    ref = torch.tensor([[3.0, 4.0], [6.0, 8.0], [1.0, 0.0], [-5.0, 12.0]])
    d, i = nearest_neighbours(torch.zeros(1, 2), ref, k=4)
    assert i.tolist() == [[2, 0, 1, 3]] and d.tolist() == [[1.0, 5.0, 10.0, 13.0]]


def test_nearest_neighbours_match_brute_force_for_every_chunk_size():
    g = torch.Generator().manual_seed(1)
    q, ref = torch.randn(37, 16, generator=g), torch.randn(101, 16, generator=g)
    brute = torch.cdist(q.double(), ref.double(), compute_mode="donot_use_mm_for_euclid_dist")
    want_d, want_i = brute.topk(3, dim=1, largest=False)
    for chunk in (1, 10, 256):
        d, i = nearest_neighbours(q, ref, k=3, chunk=chunk)
        assert torch.equal(i, want_i) and torch.allclose(d, want_d, rtol=1e-12, atol=1e-12)


def test_nearest_neighbours_reject_bad_arguments():
    imgs = torch.zeros(4, 1, 28, 28, dtype=torch.uint8)
    with pytest.raises(ValueError, match="k must be"):
        nearest_neighbours(imgs, imgs, k=5)
    with pytest.raises(ValueError, match="both be uint8"):
        nearest_neighbours(imgs, imgs.float())
    with pytest.raises(ValueError, match="values"):
        nearest_neighbours(torch.zeros(2, 3), torch.zeros(2, 4))
