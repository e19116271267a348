package azrules

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// fakeSig stands in for a signature; tests check it never shows in errors.
const fakeSig = "c2VjcmV0LXNpZ25hdHVyZS12YWx1ZQ%3D%3D"

func TestParseSAS(t *testing.T) {
	tests := []struct {
		name       string
		token      string
		wantErr    bool
		wantExpiry time.Time
		wantPerms  string
		wantStart  time.Time
	}{
		{
			name:       "service SAS with leading question mark",
			token:      "?sv=2022-11-02&sr=c&sp=racwdl&se=2030-01-02T03:04:05Z&spr=https&sig=" + fakeSig,
			wantExpiry: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
			wantPerms:  "racwdl",
		},
		{
			name:       "account SAS without question mark",
			token:      "sv=2022-11-02&ss=b&srt=sco&sp=rl&se=2030-01-02&st=2020-01-01T00:00Z&sig=" + fakeSig,
			wantExpiry: time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC),
			wantStart:  time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
			wantPerms:  "rl",
		},
		{
			name:       "fractional seconds",
			token:      "sv=2022-11-02&sr=c&sp=r&se=2030-01-02T03:04:05.0000000Z&sig=" + fakeSig,
			wantExpiry: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
			wantPerms:  "r",
		},
		{
			name:  "stored access policy holds expiry and permissions",
			token: "sv=2022-11-02&sr=c&si=policy1&sig=" + fakeSig,
		},
		{name: "empty", token: "  ", wantErr: true},
		{name: "a URL", token: "https://acct.blob.core.windows.net/c?sv=2022-11-02&sig=" + fakeSig, wantErr: true},
		{name: "no signature", token: "sv=2022-11-02&sr=c&sp=r&se=2030-01-02", wantErr: true},
		{name: "no version", token: "sr=c&sp=r&se=2030-01-02&sig=" + fakeSig, wantErr: true},
		{name: "no expiry", token: "sv=2022-11-02&sr=c&sp=r&sig=" + fakeSig, wantErr: true},
		{name: "no permissions", token: "sv=2022-11-02&sr=c&se=2030-01-02&sig=" + fakeSig, wantErr: true},
		{name: "unknown permission", token: "sv=2022-11-02&sr=c&sp=rz&se=2030-01-02&sig=" + fakeSig, wantErr: true},
		{name: "unknown permission inside", token: "sv=2022-11-02&sr=c&sp=rzl&se=2030-01-02&sig=" + fakeSig, wantErr: true},
		{name: "bad expiry", token: "sv=2022-11-02&sr=c&sp=r&se=tomorrow&sig=" + fakeSig, wantErr: true},
		{name: "bad start", token: "sv=2022-11-02&sr=c&sp=r&se=2030-01-02&st=01/01/2020&sig=" + fakeSig, wantErr: true},
		{name: "bad escape", token: "sv=2022-11-02&sp=r&se=2030-01-02&sig=%zz" + fakeSig, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ParseSAS(tt.token)
			if tt.wantErr {
				if !errors.Is(err, ErrSASMalformed) {
					t.Fatalf("ParseSAS = %+v, %v; want a malformed-token error", info, err)
				}
				if strings.Contains(err.Error(), fakeSig) || strings.Contains(err.Error(), "c2VjcmV0") {
					t.Fatalf("ParseSAS error shows the signature: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSAS: %v", err)
			}
			if !info.Expiry.Equal(tt.wantExpiry) || !info.Start.Equal(tt.wantStart) || info.Permissions != tt.wantPerms {
				t.Errorf("ParseSAS = start %v, expiry %v, perms %q; want %v, %v, %q",
					info.Start, info.Expiry, info.Permissions, tt.wantStart, tt.wantExpiry, tt.wantPerms)
			}
		})
	}
}

func TestSASProblems(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	all := []Access{AccessList, AccessRead, AccessWrite, AccessDelete}
	tests := []struct {
		name  string
		token string
		need  []Access
		want  []error // matched in order with errors.Is
	}{
		{
			name:  "all granted",
			token: "sv=2022-11-02&sr=c&sp=racwdl&se=2026-06-02T00:00:00Z&sig=" + fakeSig,
			need:  all,
		},
		{
			name:  "create alone grants write",
			token: "sv=2022-11-02&sr=c&sp=c&se=2026-06-02T00:00:00Z&sig=" + fakeSig,
			need:  []Access{AccessWrite},
		},
		{
			name:  "expired",
			token: "sv=2022-11-02&sr=c&sp=racwdl&se=2026-06-01T11:59:59Z&sig=" + fakeSig,
			need:  all,
			want:  []error{ErrSASExpired},
		},
		{
			name:  "expires exactly now",
			token: "sv=2022-11-02&sr=c&sp=rl&se=2026-06-01T12:00:00Z&sig=" + fakeSig,
			need:  []Access{AccessList},
			want:  []error{ErrSASExpired},
		},
		{
			name:  "not yet valid",
			token: "sv=2022-11-02&sr=c&sp=rl&st=2026-06-01T13:00:00Z&se=2026-06-02T00:00:00Z&sig=" + fakeSig,
			need:  []Access{AccessList},
			want:  []error{ErrSASNotYetValid},
		},
		{
			name:  "read only lacks list write and delete",
			token: "sv=2022-11-02&sr=c&sp=r&se=2026-06-02T00:00:00Z&sig=" + fakeSig,
			need:  all,
			want: []error{
				&SASProblem{Kind: ProblemMissingPermission, Permission: "l"},
				&SASProblem{Kind: ProblemMissingPermission, Permission: "w"},
				&SASProblem{Kind: ProblemMissingPermission, Permission: "d"},
			},
		},
		{
			name:  "expired and lacking delete",
			token: "sv=2022-11-02&sr=c&sp=rwl&se=2026-01-01&sig=" + fakeSig,
			need:  all,
			want:  []error{ErrSASExpired, &SASProblem{Kind: ProblemMissingPermission, Permission: "d"}},
		},
		{
			name:  "blob SAS cannot serve a container",
			token: "sv=2022-11-02&sr=b&sp=racwdl&se=2026-06-02T00:00:00Z&sig=" + fakeSig,
			need:  all,
			want:  []error{ErrSASWrongScope},
		},
		{
			name:  "account SAS for another service",
			token: "sv=2022-11-02&ss=q&srt=sco&sp=racwdl&se=2026-06-02T00:00:00Z&sig=" + fakeSig,
			need:  all,
			want:  []error{ErrSASWrongScope},
		},
		{
			name:  "account SAS without container type cannot list",
			token: "sv=2022-11-02&ss=b&srt=o&sp=racwdl&se=2026-06-02T00:00:00Z&sig=" + fakeSig,
			need:  []Access{AccessList},
			want:  []error{ErrSASWrongScope},
		},
		{
			name:  "account SAS with object type may read",
			token: "sv=2022-11-02&ss=bf&srt=o&sp=r&se=2026-06-02T00:00:00Z&sig=" + fakeSig,
			need:  []Access{AccessRead},
		},
		{
			name:  "stored policy is left to the server",
			token: "sv=2022-11-02&sr=c&si=p1&sig=" + fakeSig,
			need:  all,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := ParseSAS(tt.token)
			if err != nil {
				t.Fatalf("ParseSAS: %v", err)
			}
			got := info.Problems(now, tt.need...)
			if len(got) != len(tt.want) {
				t.Fatalf("Problems = %v, want %d problems %v", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !errors.Is(got[i], tt.want[i]) {
					t.Errorf("problem %d = %v, want %v", i, got[i], tt.want[i])
				}
				var p *SASProblem
				if !errors.As(got[i], &p) {
					t.Errorf("problem %d is %T, want *SASProblem", i, got[i])
				}
				if strings.Contains(got[i].Error(), "c2VjcmV0") {
					t.Errorf("problem %d shows the signature: %v", i, got[i])
				}
			}
		})
	}
}

func TestSASProblemMessages(t *testing.T) {
	tests := []struct {
		name string
		p    *SASProblem
		want string
	}{
		{name: "missing list", p: &SASProblem{Kind: ProblemMissingPermission, Permission: "l"}, want: "lacks the list permission (l)"},
		{name: "missing write", p: &SASProblem{Kind: ProblemMissingPermission, Permission: "w"}, want: "lacks the write permission (w or c)"},
		{name: "expired", p: &SASProblem{Kind: ProblemExpired, Detail: "it expired at 2026-01-01T00:00:00Z"}, want: "has expired: it expired at 2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Error(); !strings.Contains(got, tt.want) {
				t.Errorf("Error() = %q, want it to contain %q", got, tt.want)
			}
		})
	}
	if errors.Is(&SASProblem{Kind: ProblemMissingPermission, Permission: "l"}, &SASProblem{Kind: ProblemMissingPermission, Permission: "d"}) {
		t.Error("a missing list permission matches a missing delete permission")
	}
	if !errors.Is(&SASProblem{Kind: ProblemMissingPermission, Permission: "l"}, ErrSASMissingPermission) {
		t.Error("a missing list permission does not match ErrSASMissingPermission")
	}
}
