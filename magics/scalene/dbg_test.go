package scalene

import (
	"context"
	"fmt"
	"github.com/perfnb/perfnb/magics"
	"github.com/perfnb/perfnb/runtime/native"
	"testing"
)

func TestDbg(t *testing.T) {
	ws, _ := native.NewWorkspace("/tmp")
	pub := &fakePublisher{}
	env := magics.Env{Decls: calibratedDecls, Publisher: pub, Workspace: func() (*native.Workspace, error) { return ws, nil }}
	call := magics.Call{Name: "scalene", Cell: true, Args: "--duration 1s --profile-dir /tmp/scdbg", Body: calibratedBody, Count: 9, Line: 1, BodyLine: 2}
	_, err := New().Run(context.Background(), call, env)
	fmt.Println(err, pub.displays[0]["text/plain"])
}
