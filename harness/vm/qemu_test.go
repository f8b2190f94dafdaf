package vm

import (
	"strings"
	"testing"
)

func TestArgsSeaBIOS(t *testing.T) {
	args, err := Args(Config{Kernel: "k", Initramfs: "i", BIOS: "seabios"}, "q", "c")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(args, " "), "-bios") {
		t.Errorf("seabios must use QEMU's default firmware: %v", args)
	}
}

func TestArgs(t *testing.T) {
	base := Config{Kernel: "/k/bzImage", Initramfs: "/i.cpio", Disks: []Disk{{Path: "/d/nvme.img"}}}
	tests := []struct {
		name    string
		mod     func(c *Config)
		want    []string
		wantErr string
	}{
		{"tcg default", func(c *Config) {}, []string{"-accel tcg,thread=multi -cpu max", "-smp 1", "-m 512", "-no-reboot", "-nodefaults",
			"file=/d/nvme.img,if=none,id=nvm0,format=raw,cache=writeback,read-only=on", "nvme,serial=bpfstor0,drive=nvm0",
			"virtserialport,chardev=ctl,name=org.bpfstor.ctl", "clocksource=tsc tsc=reliable panic=-1"}, ""},
		{"kvm", func(c *Config) { c.Accel = "kvm"; c.CPUs = 2; c.MemoryMB = 1024 }, []string{"-accel kvm -cpu host", "-smp 2", "-m 1024"}, ""},
		{"cache none", func(c *Config) { c.Disks[0].Cache = "none" }, []string{"cache=none"}, ""},
		{"writable", func(c *Config) { c.Disks[0].Writable = true }, []string{"cache=writeback,read-only=off"}, ""},
		{"snapshot", func(c *Config) { c.Disks[0].Snapshot = true }, []string{"cache=writeback,read-only=off,snapshot=on"}, ""},
		{"append", func(c *Config) { c.Append = []string{"nokaslr"} }, []string{"no5lvl printk.time=1 nokaslr"}, ""},
		{"bios path", func(c *Config) { c.BIOS = "/fw/bios.bin" }, []string{"-bios /fw/bios.bin"}, ""},
		{"bad accel", func(c *Config) { c.Accel = "hvf" }, nil, "unknown accelerator"},
		{"comma in path", func(c *Config) { c.Disks[0].Path = "/a,b" }, nil, "comma"},
		{"no kernel", func(c *Config) { c.Kernel = "" }, nil, "kernel and initramfs are required"},
		{"serial and 4k blocks", func(c *Config) { c.Disks[0].Serial = "bpfstor-4k"; c.Disks[0].BlockSize = 4096 },
			[]string{"nvme,serial=bpfstor-4k,drive=nvm0,logical_block_size=4096,physical_block_size=4096"}, ""},
		{"bad block size", func(c *Config) { c.Disks[0].BlockSize = 1000 }, nil, "not a power of two"},
		{"bad serial", func(c *Config) { c.Disks[0].Serial = "a b" }, nil, "serial"},
		{"throttled", func(c *Config) { c.Disks[0].IOPS = 10 }, []string{"read-only=on,throttling.iops-total=10"}, ""},
		{"blkdebug", func(c *Config) { c.Disks[0].BlkDebug = "/d/eio.conf" }, []string{
			"driver=raw,if=none,id=nvm0,cache=writeback,read-only=on,file.driver=blkdebug,file.config=/d/eio.conf," +
				"file.image.driver=file,file.image.filename=/d/nvme.img"}, ""},
		{"comma in blkdebug", func(c *Config) { c.Disks[0].BlkDebug = "/a,b" }, nil, "comma"},
		{"two paths", func(c *Config) { c.Disks[0].Paths = 2 }, []string{
			"-device nvme-subsys,id=nvm0-subsys,nqn=bpfstor-nvm0",
			"-device nvme,serial=bpfstor0,subsys=nvm0-subsys,id=nvm0-c0 -device nvme,serial=bpfstor0,subsys=nvm0-subsys,id=nvm0-c1",
			"-device nvme-ns,drive=nvm0,nsid=1,bus=nvm0-c0,shared=on"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			c.Disks = append([]Disk(nil), base.Disks...)
			tt.mod(&c)
			args, err := Args(c, "/s/qmp", "/s/ctl")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			line := strings.Join(args, " ")
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("command line lacks %q:\n%s", w, line)
				}
			}
		})
	}
}
