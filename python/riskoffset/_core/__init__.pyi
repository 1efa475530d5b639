# Type stubs for the compiled module riskoffset._core (private; use the riskoffset package): one submodule
# per concept, each registered by its own part of the compiled core.
from . import book as book
from . import margin as margin
from . import memory as memory
from . import pricing as pricing
from . import scenarios as scenarios
from . import simd as simd
