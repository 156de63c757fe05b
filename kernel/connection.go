package kernel

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
)

// connectionInfo is the content of a Jupyter connection file.
type connectionInfo struct {
	Transport       string `json:"transport"`
	IP              string `json:"ip"`
	Key             string `json:"key"`
	SignatureScheme string `json:"signature_scheme"`
	ShellPort       int    `json:"shell_port"`
	ControlPort     int    `json:"control_port"`
	StdinPort       int    `json:"stdin_port"`
	IOPubPort       int    `json:"iopub_port"`
	HBPort          int    `json:"hb_port"`
	KernelName      string `json:"kernel_name,omitempty"`
}

// maxConnectionFile bounds the size of a connection file (they are a few
// hundred bytes): a path such as /dev/zero must not fill the memory.
const maxConnectionFile = 64 << 10

// readConnectionFile reads and checks the connection file at path.
func readConnectionFile(path string) (*connectionInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the connection file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxConnectionFile+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the connection file: %w", err)
	}
	if len(data) > maxConnectionFile {
		return nil, fmt.Errorf("the connection file %s is larger than %d KiB: it is not a connection file", path, maxConnectionFile>>10)
	}
	return parseConnectionInfo(data)
}

// parseConnectionInfo decodes a connection file and fills defaults the way
// jupyter_client does: tcp on 127.0.0.1, hmac-sha256.
func parseConnectionInfo(data []byte) (*connectionInfo, error) {
	var ci connectionInfo
	if err := json.Unmarshal(data, &ci); err != nil {
		return nil, fmt.Errorf("the connection file is not valid JSON: %w", err)
	}
	if ci.Transport == "" {
		ci.Transport = "tcp"
	}
	if ci.Transport != "tcp" && ci.Transport != "ipc" {
		return nil, fmt.Errorf("the connection file names transport %q; only tcp and ipc are supported", ci.Transport)
	}
	if ci.IP == "" {
		if ci.Transport == "tcp" {
			ci.IP = "127.0.0.1"
		} else {
			ci.IP = "kernel-ipc"
		}
	}
	if ci.SignatureScheme == "" {
		ci.SignatureScheme = "hmac-sha256"
	}
	if ci.Key != "" && ci.SignatureScheme != "hmac-sha256" {
		return nil, fmt.Errorf("the connection file asks for signature scheme %q; only hmac-sha256 is supported", ci.SignatureScheme)
	}
	for _, p := range []struct {
		name string
		port int
	}{
		{"shell_port", ci.ShellPort}, {"control_port", ci.ControlPort}, {"stdin_port", ci.StdinPort},
		{"iopub_port", ci.IOPubPort}, {"hb_port", ci.HBPort},
	} {
		if p.port < 0 || p.port > 65535 {
			return nil, fmt.Errorf("the connection file has an invalid %s %d", p.name, p.port)
		}
		if p.port == 0 && ci.Transport == "ipc" {
			return nil, fmt.Errorf("the connection file has no %s for the ipc transport", p.name)
		}
	}
	return &ci, nil
}

// endpoint returns the ZeroMQ endpoint for port, as jupyter_client builds
// it: tcp://IP:PORT or ipc://IP-PORT.
func (ci *connectionInfo) endpoint(port int) string {
	if ci.Transport == "ipc" {
		return "ipc://" + ci.IP + "-" + strconv.Itoa(port)
	}
	return "tcp://" + net.JoinHostPort(ci.IP, strconv.Itoa(port))
}
