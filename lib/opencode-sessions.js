// The package's entry for OpenCode 1.0–1.3 (`main` and `exports["."]`), and
// the file to list by path. Those releases call every export of the module as
// a plugin, with no options, so its only export is the plugin function; 1.14
// and later, given this file, call it the same way with the options. Its name
// is the plugin's: 1.1–1.3 tell plugins apart by file name, so a `plugin.js`
// or `index.js` would replace, or be replaced by, another plugin's.

export { createPlugin } from "./plugin.js"
