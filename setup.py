from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="nni_pibn",
    version="0.1.0",
    description="Pseudo-Inverted Bottleneck DARTS search space, search strategies and evaluator on Microsoft NNI",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["nni_pibn", "nni_pibn.*"]),
    python_requires=">=3.10",
    install_requires=[
        "torch>=2.1,<=2.14.1",
        "torchvision>=0.16,<=0.29.1",
        "nni==3.0",
        "pytorch-lightning>=2.0,<3",
        "pyyaml>=6",
        "thop>=0.1.1",
        "setuptools<81",
        "scikit-learn>=1.0",
        "tensorboard>=2.10",
        "onnx>=1.14",
        "onnxruntime>=1.16",
        "matplotlib>=3.6",
        "graphviz>=0.20",
        "grad-cam>=1.4.8",
    ],
    extras_require={"dev": ["pytest>=7", "pytest-timeout>=2", "ruff>=0.6,<1"]},
    entry_points={"console_scripts": ["nni-pibn=nni_pibn.cli:main"]},
)
