// Runs the stand-in's restore (textclf.rehearsal.standins cache-restore) with the world's Python.
const { execFileSync } = require("node:child_process");
execFileSync(`${process.env.TEXTCLF_REHEARSAL_WORLD}/bin/python`, ["-m", "textclf.rehearsal.standins", "cache-restore"], { stdio: "inherit" });
