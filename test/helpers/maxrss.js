// Preloaded into a cnmlab process by cnmlabMeasured: records its peak resident memory at exit.
const fs = require('fs');
process.on('exit', () => {
  if (process.env.CNMLAB_MAXRSS_FILE) fs.writeFileSync(process.env.CNMLAB_MAXRSS_FILE, String(process.resourceUsage().maxRSS));
});
