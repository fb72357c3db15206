"""The dlib face pipeline on real photos with the real dlib models (the default sface pipeline
is tested in test_sface.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from faceledger.biometrics.align import DLIB_5, DlibAligner
from faceledger.biometrics.detect import CnnDetector, HogDetector, make_detector
from faceledger.biometrics.embed import DlibResNetEmbedder
from faceledger.biometrics.image import read_image_file
from faceledger.biometrics.models import LANDMARKS_FILE, RESNET_FILE, weight_path
from faceledger.biometrics.pipeline import FacePipeline, pipeline_for
from faceledger.biometrics.quality import QualityThresholds
from faceledger.errors import ConfigError
from tests.conftest import make_settings
from tests.unit.biometrics.photos import image_of, people_photos

pytestmark = pytest.mark.slow  # the real face models


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> FacePipeline:
    settings = make_settings(tmp_path_factory.mktemp("dlib"), pipeline="dlib")
    return FacePipeline.from_settings(settings)


def test_dlib_pipeline_is_built_by_name(tmp_path: Path, pipeline: FacePipeline) -> None:
    assert isinstance(pipeline.detector, HogDetector)
    assert isinstance(pipeline.embedder, DlibResNetEmbedder)
    assert isinstance(pipeline.aligner, DlibAligner)
    settings = make_settings(tmp_path, detector="cnn", upsample=0)
    built = pipeline_for(settings, "dlib")
    assert isinstance(built.detector, CnnDetector) and built.detector.upsample == 0
    # Composed by hand, a dlib embedder gets dlib's aligner (tests/fakes.py relies on this).
    assert isinstance(FacePipeline(HogDetector(), DlibResNetEmbedder()).aligner, DlibAligner)


def test_every_people_photo_has_exactly_one_usable_face(
    faces_dir: Path, pipeline: FacePipeline
) -> None:
    photos = people_photos(faces_dir)
    assert len(photos) == 54
    counts = {p.name: len(pipeline.analyse(read_image_file(p))) for p in photos}
    assert counts == {p.name: 1 for p in photos}


def test_face_has_landmarks_chip_quality_and_descriptor(
    faces_dir: Path, pipeline: FacePipeline
) -> None:
    (face,) = pipeline.analyse(read_image_file(faces_dir / "people" / "obama" / "obama1.jpg"))
    assert face.usable
    assert face.chip.shape == (150, 150, 3)
    assert face.embedding.shape == (128,)
    assert np.isclose(np.linalg.norm(face.unit_embedding), 1.0, atol=1e-5)
    assert face.landmarks.points.shape == (5, 2)
    assert face.landmarks.scheme == DLIB_5
    assert face.box.landmarks is None
    left, right = face.landmarks.eye_centres
    assert face.box.left < left[0] < right[0] < face.box.right
    assert 40 < face.quality.eye_distance_px < face.box.width
    assert abs(face.quality.yaw_degrees) < 30
    assert 25 < face.quality.brightness < 235


def test_no_face_image_gives_no_faces(faces_dir: Path, pipeline: FacePipeline) -> None:
    assert pipeline.analyse(read_image_file(faces_dir / "edge" / "no_face_white.png")) == []


def test_group_photo_faces_come_largest_first(faces_dir: Path, pipeline: FacePipeline) -> None:
    faces = pipeline.analyse(read_image_file(faces_dir / "groups" / "bbt4.jpg"))
    assert len(faces) == 6
    widths = [f.box.width for f in faces]
    assert widths == sorted(widths, reverse=True)
    assert [f.index for f in faces] == list(range(6))


def test_mirrored_face_flips_yaw_sign(faces_dir: Path, pipeline: FacePipeline) -> None:
    pixels = read_image_file(faces_dir / "people" / "sheldon" / "sheldon3.png").pixels
    (face,) = pipeline.analyse(image_of(pixels))
    (mirrored,) = pipeline.analyse(image_of(pixels[:, ::-1]))
    assert abs(face.quality.yaw_degrees) > 10
    assert np.sign(face.quality.yaw_degrees) == -np.sign(mirrored.quality.yaw_degrees)


@pytest.mark.parametrize(
    ("change", "thresholds", "words"),
    [
        (lambda im: im, QualityThresholds(min_eye_distance_px=500), "face too small"),
        (
            lambda im: im.filter(ImageFilter.GaussianBlur(4)),
            QualityThresholds(min_sharpness=30),
            "face too blurred",
        ),
        (lambda im: im.point(lambda v: v // 8), QualityThresholds(), "face too dark"),
        (lambda im: im, QualityThresholds(max_yaw_degrees=0.1), "face turned too far"),
    ],
    ids=["small", "blurred", "dark", "turned"],
)
def test_quality_thresholds_reject_with_reason(
    faces_dir: Path, change: object, thresholds: QualityThresholds, words: str
) -> None:
    photo = Image.open(faces_dir / "people" / "obama" / "obama1.jpg").convert("RGB")
    pixels = np.asarray(change(photo))  # type: ignore[operator]
    pipeline = FacePipeline(make_detector("hog", 1), DlibResNetEmbedder(), thresholds)
    faces = pipeline.analyse(image_of(pixels))
    assert len(faces) == 1
    assert not faces[0].usable
    assert any(words in problem for problem in faces[0].problems), faces[0].problems


def test_sharp_photo_is_sharper_than_its_blur(faces_dir: Path, pipeline: FacePipeline) -> None:
    photo = Image.open(faces_dir / "people" / "obama" / "obama1.jpg").convert("RGB")
    (sharp,) = pipeline.analyse(image_of(np.asarray(photo)))
    (soft,) = pipeline.analyse(image_of(np.asarray(photo.filter(ImageFilter.GaussianBlur(3)))))
    assert soft.quality.sharpness < sharp.quality.sharpness / 2


def test_model_identity_names_version_and_weights(pipeline: FacePipeline) -> None:
    model = pipeline.embedder.model
    assert model.name == "dlib_face_recognition_resnet_model_v1"
    assert model.version.startswith("dlib-")
    assert len(model.sha256) == 64
    expected = hashlib.sha256()
    for name in (LANDMARKS_FILE, RESNET_FILE):
        digest = hashlib.sha256(weight_path(name).read_bytes()).hexdigest()
        expected.update(f"{name}:{digest}\n".encode())
    assert model.sha256 == expected.hexdigest()
    assert pipeline.models["detector"].name == "dlib_hog_frontal_face_detector"


def test_cnn_detector_finds_the_face(faces_dir: Path) -> None:
    detector = CnnDetector(upsample=0)
    pipeline = FacePipeline(detector, DlibResNetEmbedder())
    faces = pipeline.analyse(read_image_file(faces_dir / "people" / "biden" / "biden2.jpg"))
    assert len(faces) == 1
    assert detector.model.name == "dlib_mmod_human_face_detector"
    assert len(detector.model.sha256) == 64


def test_same_person_is_nearer_than_another(faces_dir: Path, pipeline: FacePipeline) -> None:
    def unit(path: str) -> np.ndarray:
        (face,) = pipeline.analyse(read_image_file(faces_dir / "people" / path))
        return face.unit_embedding

    a, b, other = unit("obama/obama1.jpg"), unit("obama/obama2.jpg"), unit("biden/biden1.jpg")
    assert np.linalg.norm(a - b) < np.linalg.norm(a - other)


def test_unknown_detector_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Unknown face detector 'sift'"):
        make_detector("sift")
