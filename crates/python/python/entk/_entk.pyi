"""Type stubs of the native module ``entk._entk`` (re-exported by ``entk``)."""

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

Spec = Union[str, Dict[str, Any]]
ArrayLike = npt.ArrayLike

__version__: str

class Kernels:
    """NNGP and NTK Gram matrices (float64, shape (N1, N2))."""

    @property
    def nngp(self) -> npt.NDArray[np.float64]: ...
    @property
    def ntk(self) -> npt.NDArray[np.float64]: ...

class Prediction:
    """Mean test predictions of gradient-flow training, (M, K) or (M,) for 1-D targets."""

    @property
    def ntk_mean(self) -> npt.NDArray[np.float64]: ...
    @property
    def nngp_mean(self) -> npt.NDArray[np.float64]: ...
    @property
    def warnings(self) -> List[str]: ...

class Params:
    """Parameters of a finite network drawn by ``init`` (``entk.stax`` init_fn)."""

    @property
    def size(self) -> int: ...
    def flat(self) -> npt.NDArray[np.float64]: ...

def kernel(
    spec: Spec, x1: ArrayLike, x2: Optional[ArrayLike] = None, *, threads: Optional[int] = None
) -> Kernels: ...
def predict(
    spec: Spec,
    x_train: ArrayLike,
    y_train: ArrayLike,
    x_test: ArrayLike,
    *,
    t: Optional[float] = None,
    diag_reg: float = 0.0,
    learning_rate: float = 1.0,
    threads: Optional[int] = None,
) -> Prediction: ...
def verify_group(name: str, bandlimit: Optional[int] = None) -> Dict[str, Any]: ...
def groups() -> List[str]: ...
def init(spec: Spec, input_shape: Sequence[int], seed: int) -> Tuple[List[int], Params]: ...
def apply(spec: Spec, params: Params, x: ArrayLike) -> npt.NDArray[np.float64]: ...
def rotated_mnist(
    n_train: int = 200,
    n_test: int = 500,
    *,
    seed: int = 0,
    image_size: int = 10,
    rotation: str = "continuous",
) -> Tuple[
    npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.float64], npt.NDArray[np.int64]
]: ...
