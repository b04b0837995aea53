// Preloaded into profiled children: SIGUSR2 exits at once (process.exit writes the --cpu-prof file
// even when a graceful shutdown would hang on open connections).
process.on('SIGUSR2', () => process.exit(0));
