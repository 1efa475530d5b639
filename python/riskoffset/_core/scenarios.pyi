# Type stubs for riskoffset._core.scenarios (private; use riskoffset.revalue).
import numpy as np
import numpy.typing as npt

def scenario_values(
    flag: npt.NDArray[np.float64],
    forward: npt.NDArray[np.float64],
    strike: npt.NDArray[np.float64],
    t: npt.NDArray[np.float64],
    inverse: npt.NDArray[np.float64],
    sigma: npt.NDArray[np.float64],
    vol_state: npt.NDArray[np.int32],
    move: npt.NDArray[np.float64],
    time_shift: npt.NDArray[np.float64] | None,
    r: float,
    threads: int,
    base_first: bool = False,
    out: npt.NDArray[np.float64] | None = None,
    base_out: npt.NDArray[np.float64] | None = None,
) -> tuple[npt.NDArray[np.float64], int]: ...
