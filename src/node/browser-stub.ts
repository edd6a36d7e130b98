/**
 * What a bundler resolves `wspeer/node` to in a browser build (package.json's `browser`
 * condition): the Node entry needs node:http and `ws`, so importing it there fails at once with
 * a message saying what to import instead, rather than with an obscure missing-module error.
 */
throw new Error('wspeer/node is Node-only; import "wspeer" in the browser')

export {}
