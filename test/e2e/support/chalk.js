// Jest's module loader cannot load chalk 5 (ESM only), which the `e2b` SDK requires only to colour
// the logs of template builds. Node itself loads it; under Jest the E2B specs get plain strings.
const plain = (text) => String(text);
const chalk = Object.assign(plain, { red: plain, gray: plain, dim: plain, hex: () => plain });
module.exports = chalk;
