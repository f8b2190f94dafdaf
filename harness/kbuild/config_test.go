package kbuild

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	in := `# comment
CONFIG_A=y

CONFIG_B="str"
# CONFIG_C is not set
CONFIG_D=42
`
	opts, err := ParseConfig(strings.NewReader(in), "frag")
	if err != nil {
		t.Fatal(err)
	}
	want := []Option{{"CONFIG_A", "y", "frag:2"}, {"CONFIG_B", `"str"`, "frag:4"}, {"CONFIG_C", "n", "frag:5"}, {"CONFIG_D", "42", "frag:6"}}
	if len(opts) != len(want) {
		t.Fatalf("got %v", opts)
	}
	for i := range want {
		if opts[i] != want[i] {
			t.Errorf("opt %d = %+v, want %+v", i, opts[i], want[i])
		}
	}
	for _, bad := range []string{"CONFIG_X", "CONFIG_X=", "FOO=y"} {
		if _, err := ParseConfig(strings.NewReader(bad), "f"); err == nil {
			t.Errorf("ParseConfig(%q) succeeded", bad)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	final := []Option{{Name: "CONFIG_A", Value: "y"}, {Name: "CONFIG_D", Value: "42"}}
	tests := []struct {
		name    string
		req     []Option
		wantErr string
	}{
		{"all set", []Option{{"CONFIG_A", "y", "f:1"}, {"CONFIG_D", "42", "f:2"}}, ""},
		{"unset requested and absent", []Option{{"CONFIG_C", "n", "f:1"}}, ""},
		{"dropped", []Option{{"CONFIG_KASAN", "y", "debug.config:3"}}, "CONFIG_KASAN=y requested at debug.config:3, got n"},
		{"wrong value", []Option{{"CONFIG_D", "8", "f:2"}}, "CONFIG_D=8 requested at f:2, got 42"},
		{"should be unset", []Option{{"CONFIG_A", "n", "f:9"}}, "CONFIG_A=n requested at f:9, got y"},
		// An option the kernel does not have is named as unknown, not as
		// a missing dependency.
		{"unknown", []Option{{"CONFIG_BLK_DEV_NVMEE", "y", "/home/u/my.config:4"}},
			"1 option(s) unknown to this kernel (misspelt, or removed from it: fix or delete the line): CONFIG_BLK_DEV_NVMEE at /home/u/my.config:4"},
		{"unknown and dropped", []Option{{"CONFIG_NOPE", "y", "f:1"}, {"CONFIG_KASAN", "y", "f:2"}},
			"unknown to this kernel (misspelt, or removed from it: fix or delete the line): CONFIG_NOPE at f:1; 1 option(s) could not be set (a dependency is missing: add it to the fragment): CONFIG_KASAN=y"},
	}
	known := map[string]bool{"CONFIG_A": true, "CONFIG_C": true, "CONFIG_D": true, "CONFIG_KASAN": true}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckConfig(tt.req, final, known)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestKconfigSymbols(t *testing.T) {
	tree := t.TempDir()
	os.MkdirAll(filepath.Join(tree, "drivers", "nvme"), 0o755)
	os.WriteFile(filepath.Join(tree, "Kconfig"), []byte("config EVENTFD\n\tbool \"x\"\nmenuconfig EXPERT\n"), 0o644)
	os.WriteFile(filepath.Join(tree, "drivers", "nvme", "Kconfig"), []byte("  config BLK_DEV_NVME\n\ttristate\n# config COMMENTED\n"), 0o644)
	got, err := KconfigSymbols(tree)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"CONFIG_EVENTFD", "CONFIG_EXPERT", "CONFIG_BLK_DEV_NVME"} {
		if !got[n] {
			t.Errorf("%s not found", n)
		}
	}
	if got["CONFIG_COMMENTED"] || len(got) != 3 {
		t.Errorf("symbols %v, want 3", got)
	}
	if _, err := KconfigSymbols(t.TempDir()); err == nil {
		t.Error("a tree without Kconfig files gave no error")
	}
}
