// Preloaded into a cnmlab process by cnmlabMeasured: records its peak resident memory at exit.
// VmHWM is this process image's own high-water mark; getrusage's ru_maxrss would carry the
// parent's (the test runner's) across fork and exec.
const fs = require('fs');
process.on('exit', () => {
  if (!process.env.CNMLAB_MAXRSS_FILE) return;
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  fs.writeFileSync(process.env.CNMLAB_MAXRSS_FILE, hwm ? hwm[1] : '-1');
});
