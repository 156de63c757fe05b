// Package docs holds perfnb's reference documentation, the Markdown pages
// that README.md points to. It has no code: its test checks that the links
// and anchors of the pages, README.md's and ARCHITECTURE.md's resolve,
// that README.md stays a short read, and that ARCHITECTURE.md's table of
// packages names every package of the module and nothing that is gone.
package docs
