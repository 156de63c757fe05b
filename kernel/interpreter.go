package kernel

import "github.com/perfnb/perfnb/kernel/protocol"

// The names below are transitional aliases of package protocol's, kept while
// call sites move to protocol.X; new code uses package protocol.

// Bundle is protocol.Bundle.
type Bundle = protocol.Bundle

// ErrStdinNotAllowed is protocol.ErrStdinNotAllowed.
var ErrStdinNotAllowed = protocol.ErrStdinNotAllowed

// Publisher is protocol.Publisher.
type Publisher = protocol.Publisher

// ExecuteRequest is protocol.ExecuteRequest.
type ExecuteRequest = protocol.ExecuteRequest

// ExecuteResult is protocol.ExecuteResult.
type ExecuteResult = protocol.ExecuteResult

// Error is protocol.Error.
type Error = protocol.Error

// LanguageInfo is protocol.LanguageInfo.
type LanguageInfo = protocol.LanguageInfo

// HelpLink is protocol.HelpLink.
type HelpLink = protocol.HelpLink

// Info is protocol.Info.
type Info = protocol.Info

// Completion is protocol.Completion.
type Completion = protocol.Completion

// Inspection is protocol.Inspection.
type Inspection = protocol.Inspection

// Completeness is protocol.Completeness.
type Completeness = protocol.Completeness

// HistoryQuery is protocol.HistoryQuery.
type HistoryQuery = protocol.HistoryQuery

// HistoryEntry is protocol.HistoryEntry.
type HistoryEntry = protocol.HistoryEntry

// Interpreter is protocol.Interpreter.
type Interpreter = protocol.Interpreter
