// Package stdpkg is the one table of the standard library's packages by
// the name cells use for them: the interpreter imports a package on first
// use of its name, and runtime/native imports the same package in the
// program it generates for a magic, so both engines read fmt, rand or
// pprof alike.
package stdpkg

import (
	"path"
	"strings"
)

// Path returns the import path of the standard-library package that a
// cell means by name ("rand" is math/rand), and whether there is one.
func Path(name string) (string, bool) {
	p, ok := byName[name]
	return p, ok
}

// All returns a copy of the table: name to import path.
func All() map[string]string {
	m := make(map[string]string, len(byName))
	for k, v := range byName {
		m[k] = v
	}
	return m
}

// Name returns the package name of a standard-library import path
// ("math/rand/v2" is "rand"): the last element of the path, without a
// major-version suffix.
func Name(importPath string) string {
	base := path.Base(importPath)
	if len(base) > 1 && base[0] == 'v' && strings.Trim(base[1:], "0123456789") == "" && path.Dir(importPath) != "." {
		base = path.Base(path.Dir(importPath))
	}
	return base
}

// IsStd reports whether importPath is a standard-library path: its first
// element has no dot, as the go command decides.
func IsStd(importPath string) bool {
	first, _, _ := strings.Cut(importPath, "/")
	return !strings.Contains(first, ".")
}

// byName maps the name a cell uses for a standard-library package to its
// import path. Where two packages share a name, the more common one wins:
// math/rand, runtime/pprof, text/scanner and text/template (import the
// others explicitly). Made from `go list std` of Go 1.26, without
// internal, vendored and command packages. It is never modified.
var byName = map[string]string{
	"tar":             "archive/tar",
	"zip":             "archive/zip",
	"bufio":           "bufio",
	"bytes":           "bytes",
	"cmp":             "cmp",
	"bzip2":           "compress/bzip2",
	"flate":           "compress/flate",
	"gzip":            "compress/gzip",
	"lzw":             "compress/lzw",
	"zlib":            "compress/zlib",
	"heap":            "container/heap",
	"list":            "container/list",
	"ring":            "container/ring",
	"context":         "context",
	"crypto":          "crypto",
	"aes":             "crypto/aes",
	"cipher":          "crypto/cipher",
	"des":             "crypto/des",
	"dsa":             "crypto/dsa",
	"ecdh":            "crypto/ecdh",
	"ecdsa":           "crypto/ecdsa",
	"ed25519":         "crypto/ed25519",
	"elliptic":        "crypto/elliptic",
	"fips140":         "crypto/fips140",
	"hkdf":            "crypto/hkdf",
	"hmac":            "crypto/hmac",
	"hpke":            "crypto/hpke",
	"md5":             "crypto/md5",
	"mlkem":           "crypto/mlkem",
	"mlkemtest":       "crypto/mlkem/mlkemtest",
	"pbkdf2":          "crypto/pbkdf2",
	"rc4":             "crypto/rc4",
	"rsa":             "crypto/rsa",
	"sha1":            "crypto/sha1",
	"sha256":          "crypto/sha256",
	"sha3":            "crypto/sha3",
	"sha512":          "crypto/sha512",
	"subtle":          "crypto/subtle",
	"tls":             "crypto/tls",
	"x509":            "crypto/x509",
	"pkix":            "crypto/x509/pkix",
	"sql":             "database/sql",
	"driver":          "database/sql/driver",
	"buildinfo":       "debug/buildinfo",
	"dwarf":           "debug/dwarf",
	"elf":             "debug/elf",
	"gosym":           "debug/gosym",
	"macho":           "debug/macho",
	"pe":              "debug/pe",
	"plan9obj":        "debug/plan9obj",
	"embed":           "embed",
	"encoding":        "encoding",
	"ascii85":         "encoding/ascii85",
	"asn1":            "encoding/asn1",
	"base32":          "encoding/base32",
	"base64":          "encoding/base64",
	"binary":          "encoding/binary",
	"csv":             "encoding/csv",
	"gob":             "encoding/gob",
	"hex":             "encoding/hex",
	"json":            "encoding/json",
	"pem":             "encoding/pem",
	"xml":             "encoding/xml",
	"errors":          "errors",
	"expvar":          "expvar",
	"flag":            "flag",
	"fmt":             "fmt",
	"ast":             "go/ast",
	"build":           "go/build",
	"constraint":      "go/build/constraint",
	"constant":        "go/constant",
	"doc":             "go/doc",
	"comment":         "go/doc/comment",
	"format":          "go/format",
	"importer":        "go/importer",
	"parser":          "go/parser",
	"printer":         "go/printer",
	"token":           "go/token",
	"types":           "go/types",
	"version":         "go/version",
	"hash":            "hash",
	"adler32":         "hash/adler32",
	"crc32":           "hash/crc32",
	"crc64":           "hash/crc64",
	"fnv":             "hash/fnv",
	"maphash":         "hash/maphash",
	"html":            "html",
	"image":           "image",
	"color":           "image/color",
	"palette":         "image/color/palette",
	"draw":            "image/draw",
	"gif":             "image/gif",
	"jpeg":            "image/jpeg",
	"png":             "image/png",
	"suffixarray":     "index/suffixarray",
	"io":              "io",
	"fs":              "io/fs",
	"ioutil":          "io/ioutil",
	"iter":            "iter",
	"log":             "log",
	"slog":            "log/slog",
	"syslog":          "log/syslog",
	"maps":            "maps",
	"math":            "math",
	"big":             "math/big",
	"bits":            "math/bits",
	"cmplx":           "math/cmplx",
	"rand":            "math/rand",
	"mime":            "mime",
	"multipart":       "mime/multipart",
	"quotedprintable": "mime/quotedprintable",
	"net":             "net",
	"http":            "net/http",
	"cgi":             "net/http/cgi",
	"cookiejar":       "net/http/cookiejar",
	"fcgi":            "net/http/fcgi",
	"httptest":        "net/http/httptest",
	"httptrace":       "net/http/httptrace",
	"httputil":        "net/http/httputil",
	"mail":            "net/mail",
	"netip":           "net/netip",
	"rpc":             "net/rpc",
	"jsonrpc":         "net/rpc/jsonrpc",
	"smtp":            "net/smtp",
	"textproto":       "net/textproto",
	"url":             "net/url",
	"os":              "os",
	"exec":            "os/exec",
	"signal":          "os/signal",
	"user":            "os/user",
	"path":            "path",
	"filepath":        "path/filepath",
	"plugin":          "plugin",
	"reflect":         "reflect",
	"regexp":          "regexp",
	"syntax":          "regexp/syntax",
	"runtime":         "runtime",
	"cgo":             "runtime/cgo",
	"coverage":        "runtime/coverage",
	"debug":           "runtime/debug",
	"metrics":         "runtime/metrics",
	"pprof":           "runtime/pprof",
	"race":            "runtime/race",
	"trace":           "runtime/trace",
	"slices":          "slices",
	"sort":            "sort",
	"strconv":         "strconv",
	"strings":         "strings",
	"structs":         "structs",
	"sync":            "sync",
	"atomic":          "sync/atomic",
	"syscall":         "syscall",
	"testing":         "testing",
	"cryptotest":      "testing/cryptotest",
	"fstest":          "testing/fstest",
	"iotest":          "testing/iotest",
	"quick":           "testing/quick",
	"slogtest":        "testing/slogtest",
	"synctest":        "testing/synctest",
	"scanner":         "text/scanner",
	"tabwriter":       "text/tabwriter",
	"template":        "text/template",
	"parse":           "text/template/parse",
	"time":            "time",
	"tzdata":          "time/tzdata",
	"unicode":         "unicode",
	"utf16":           "unicode/utf16",
	"utf8":            "unicode/utf8",
	"unique":          "unique",
	"unsafe":          "unsafe",
	"weak":            "weak",
}
