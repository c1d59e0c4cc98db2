"""All snowball cocotb benches on hdl.snowball.verify.VerifyHarness (units + 1-lane + 4-lane kernels)."""
from sim.snowball.kernel_bench import identity_registers, random_contracts_bit_exact, zoo_contracts_bit_exact  # noqa: F401
from sim.snowball.units_bench import exp2_range, normal_and_path_step_sweep, threefry_known_answers  # noqa: F401
