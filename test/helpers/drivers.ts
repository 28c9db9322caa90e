// jest's setup for every test file (jest.config.js, setupFiles): the drivers registered, as
// the CLI and the browser lab register them before anything else runs.
import '../../sim/drivers';
