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
def shock_vols(
    sigma: npt.NDArray[np.float64],
    term: npt.NDArray[np.float64],
    shifts: npt.NDArray[np.float64],
    relative: bool,
    floor_up: float,
    floor: float,
) -> npt.NDArray[np.float64]: ...
def option_scenarios(
    flag: npt.NDArray[np.float64],
    forward: npt.NDArray[np.float64],
    strike: npt.NDArray[np.float64],
    t: npt.NDArray[np.float64],
    inverse: npt.NDArray[np.float64],
    term: npt.NDArray[np.float64],
    sigma: npt.NDArray[np.float64],
    shifts: npt.NDArray[np.float64],
    relative: bool,
    floor_up: float,
    floor: float,
    vol_state: npt.NDArray[np.int32],
    move: npt.NDArray[np.float64],
    time_shift: npt.NDArray[np.float64] | None,
    r: float,
    threads: int,
    out: npt.NDArray[np.float64],
    base: npt.NDArray[np.float64],
    identity: npt.NDArray[np.uint8] | None = None,
    n_standard: int = 0,
    weight: npt.NDArray[np.float64] | None = None,
    convert: npt.NDArray[np.float64] | None = None,
    expired: npt.NDArray[np.bool_] | None = None,
    delta: npt.NDArray[np.float64] | None = None,
) -> int: ...
