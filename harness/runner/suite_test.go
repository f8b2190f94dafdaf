package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfstor/bpfstor/harness/spec"
)

func TestSuite(t *testing.T) {
	repo := t.TempDir()
	os.MkdirAll(filepath.Join(repo, "experiments"), 0o755)
	os.WriteFile(filepath.Join(repo, "experiments", "a.toml"), nil, 0o644)
	write := func(name, text string) {
		os.WriteFile(filepath.Join(repo, "experiments", name+".suite"), []byte(text), 0o644)
	}
	write("ok", "# comment\nexperiments/a.toml  # the only one\n\n")
	write("missing", "experiments/a.toml\nexperiments/nope.toml\n")
	write("empty", "# nothing\n")
	tests := []struct {
		name, want string
		n          int
	}{
		{"ok", "", 1},
		{"missing", "missing.suite:2: spec experiments/nope.toml not found", 0},
		{"empty", "lists no spec", 0},
		{"absent", "suites are experiments/*.suite", 0},
		{"../etc", "not a suite name", 0},
	}
	for _, tt := range tests {
		got, err := Suite(repo, tt.name)
		if tt.want != "" {
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Suite(%q) err = %v, want %q", tt.name, err, tt.want)
			}
			continue
		}
		if err != nil || len(got) != tt.n {
			t.Errorf("Suite(%q) = %v, %v", tt.name, got, err)
		}
	}
}

func TestDefaultSuite(t *testing.T) {
	wd, _ := os.Getwd()
	repo, err := FindRepo(wd)
	if err != nil {
		t.Fatal(err)
	}
	specs, err := Suite(repo, "default")
	if err != nil || len(specs) == 0 {
		t.Fatalf("default suite: %v, %v", specs, err)
	}
	// Every spec shipped in experiments/ parses and validates.
	all, _ := filepath.Glob(filepath.Join(repo, "experiments", "*.toml"))
	for _, f := range all {
		if _, err := spec.Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
