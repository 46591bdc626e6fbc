// SPDX-License-Identifier: GPL-2.0-only
//! `dmabuf-ic`: what this kernel can do with dma-buf interconnects, for VMM
//! authors and operators. Lists the VFIO devices whose BARs can be exported
//! as dma-bufs, reports what iommufd and a given BAR's dma-buf support, and
//! runs the peer-to-peer demo step by step; lists the dma-bufs a process
//! holds, and keeps an IOMMU mapping of one in step with its revokes as a
//! VMM would. `--json` prints JSON instead of words.

mod demo;
mod follow;
mod ic;
mod process;
mod sys;
mod uapi;

use ic::{buf_info, iommufd_info, open_iommufd, VfioDevice};
use serde_json::{json, Value};
use sys::{pci_devices, sysfs_root, vfio_device, Error, Result};

const USAGE: &str = "\
usage: dmabuf-ic [--json] COMMAND

commands:
  devices                 list devices bound to vfio-pci, their memory BARs,
                          and whether VFIO can export them as dma-bufs
  iommufd                 whether and how iommufd imports dma-bufs
  inspect BDF [--bar N] [--offset BYTES] [--length BYTES]
                          export a BAR range (default: the first memory BAR,
                          one page) and report what its dma-buf offers and
                          what iommufd would negotiate; nothing is mapped
  demo                    peer-to-peer DMA from QEMU's edu into ivshmem's
                          BAR through a dma-buf mapped by iommufd, then
                          revoke and map again, step by step
  buffers PID             the dma-bufs that process PID holds: fd, size,
                          exporter, and what the interconnect framework
                          reports of each (root: needs ptrace access)
  follow PID FD [--iova ADDR] [--events N] [--timeout SECONDS]
                          keep an IOMMU mapping of the dma-buf FD of process
                          PID in step with its access state, as a VMM does:
                          map it at IOVA ADDR (default 0x100000000) into an
                          IOAS of its own, unmap when revoked, map again
                          when allowed; stop after N access changes or when
                          revoked for good, fail after SECONDS (default 60;
                          0: wait forever); --json: one object per line
                          (root: needs ptrace access)

exit status: 0 success, 1 a call failed or follow timed out, 2 bad usage,
3 no such device, process or dma-buf, or not bound to vfio-pci, 4 the
kernel lacks the feature";

/// The parsed command line.
#[derive(Debug, PartialEq)]
enum Command {
    Devices,
    Iommufd,
    Inspect {
        bdf: String,
        bar: Option<u32>,
        offset: u64,
        length: u64,
    },
    Demo,
    Buffers {
        pid: i32,
    },
    Follow(follow::Options),
    Help,
}

/// Parses a number, decimal or 0x-prefixed hexadecimal.
fn number(text: &str) -> Result<u64> {
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    parsed.map_err(|_| Error::Usage(format!("{text}: not a number")))
}

/// Parses a non-negative number that fits an `i32` (a pid or an fd);
/// `what` names it in errors.
fn small(text: &str, what: &str) -> Result<i32> {
    number(text)
        .ok()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| Error::Usage(format!("{text}: not a {what}")))
}

/// Pairs the words after a command's fixed arguments as `--option value`.
fn option_pairs<'a>(rest: &[&'a str]) -> Result<Vec<(&'a str, &'a str)>> {
    let mut pairs = Vec::new();
    let mut it = rest.iter();
    while let Some(opt) = it.next() {
        let val = it
            .next()
            .ok_or_else(|| Error::Usage(format!("{opt} needs a value")))?;
        pairs.push((*opt, *val));
    }
    Ok(pairs)
}

/// Parses the arguments after the program name; returns `--json` too.
fn parse(args: &[String]) -> Result<(Command, bool)> {
    let mut json = false;
    let mut words = Vec::new();
    for a in args {
        match a.as_str() {
            "--json" => json = true,
            "-h" | "--help" => return Ok((Command::Help, json)),
            _ => words.push(a.as_str()),
        }
    }
    let command = match words.as_slice() {
        ["devices"] => Command::Devices,
        ["iommufd"] => Command::Iommufd,
        ["demo"] => Command::Demo,
        ["inspect", bdf, rest @ ..] => {
            let (mut bar, mut offset, mut length) = (None, 0, 4096);
            for (opt, val) in option_pairs(rest)? {
                match opt {
                    "--bar" => bar = Some(number(val)? as u32),
                    "--offset" => offset = number(val)?,
                    "--length" => length = number(val)?,
                    _ => return Err(Error::Usage(format!("unknown option {opt}"))),
                }
            }
            Command::Inspect {
                bdf: bdf.to_string(),
                bar,
                offset,
                length,
            }
        }
        ["buffers", pid] => match small(pid, "process id")? {
            0 => return Err(Error::Usage("0: not a process id".into())),
            pid => Command::Buffers { pid },
        },
        ["follow", pid, fd, rest @ ..] => {
            let mut opts = follow::Options {
                pid: small(pid, "process id")?,
                fd: small(fd, "file descriptor")?,
                iova: follow::DEFAULT_IOVA,
                events: None,
                timeout: follow::DEFAULT_TIMEOUT,
            };
            if opts.pid == 0 {
                return Err(Error::Usage("0: not a process id".into()));
            }
            for (opt, val) in option_pairs(rest)? {
                match opt {
                    "--iova" => opts.iova = number(val)?,
                    "--events" => opts.events = Some(number(val)?),
                    "--timeout" => opts.timeout = number(val)?,
                    _ => return Err(Error::Usage(format!("unknown option {opt}"))),
                }
            }
            Command::Follow(opts)
        }
        [] => return Err(Error::Usage("no command".into())),
        [w, ..] => return Err(Error::Usage(format!("unknown command or arguments: {w}"))),
    };
    Ok((command, json))
}

/// `devices`: every device bound to a VFIO driver, with its BARs.
fn devices(json: bool) -> Result<Value> {
    let iommufd = open_iommufd().ok();
    let mut list = Vec::new();
    for dev in pci_devices(&sysfs_root()) {
        let Some(cdev) = dev.vfio_cdev.clone() else {
            continue;
        };
        // Binding needs an iommufd and a device no one else has open.
        let dma_buf = match &iommufd {
            Some(fd) => match VfioDevice::open(&cdev, fd) {
                Ok(vdev) => Some(vdev.probe_dma_buf()),
                Err(_) => None,
            },
            None => None,
        };
        if !json {
            let support = match dma_buf {
                Some(true) => "exports BARs as dma-bufs",
                Some(false) => "cannot export dma-bufs",
                None => "in use or not bindable: dma-buf support unknown",
            };
            println!(
                "{} {:04x}:{:04x} driver {} /dev/vfio/devices/{cdev}: {support}",
                dev.bdf,
                dev.vendor,
                dev.device,
                dev.driver.as_deref().unwrap_or("none")
            );
            for bar in &dev.bars {
                println!(
                    "  BAR{} 0x{:x} bytes at 0x{:x}{}",
                    bar.index,
                    bar.size,
                    bar.start,
                    if bar.prefetchable {
                        " (prefetchable)"
                    } else {
                        ""
                    }
                );
            }
        }
        list.push(json!({
            "bdf": dev.bdf, "vendor": format!("{:04x}", dev.vendor),
            "device": format!("{:04x}", dev.device), "driver": dev.driver, "cdev": cdev,
            "dma_buf": dma_buf,
            "bars": dev.bars.iter().map(|b| json!({
                "index": b.index, "size": b.size, "start": b.start, "prefetchable": b.prefetchable,
            })).collect::<Vec<_>>(),
        }));
    }
    if list.is_empty() && !json {
        println!("no device is bound to vfio-pci with a VFIO character device");
    }
    Ok(json!({ "devices": list }))
}

/// `iommufd`: iommufd's dma-buf import.
fn iommufd(json: bool) -> Result<Value> {
    let info = iommufd_info(&open_iommufd()?, None)?;
    if !json {
        println!("iommufd imports dma-bufs through IOMMU_IOAS_MAP_FILE");
        println!("  capabilities: {}", info.capability_names().join(", "));
        println!("  accepted interconnects: {}", info.accepts.join(", "));
    }
    Ok(info.to_json())
}

/// `inspect`: export one range and report; nothing is mapped.
fn inspect(bdf: &str, bar: Option<u32>, offset: u64, length: u64, json: bool) -> Result<Value> {
    let dev = vfio_device(&sysfs_root(), bdf)?;
    let bar = match bar {
        Some(b) => b,
        None => dev
            .bars
            .first()
            .map(|b| b.index)
            .ok_or_else(|| Error::Device(format!("{}: no memory BAR", dev.bdf)))?,
    };
    let iommufd = open_iommufd()?;
    let vdev = VfioDevice::open(dev.vfio_cdev.as_deref().unwrap(), &iommufd)?;
    let buf = vdev.export(bar, offset, length)?;
    let info = buf_info(&buf)?;
    let import = iommufd_info(&iommufd, Some(&buf))?;
    if !json {
        println!(
            "{} BAR{bar} [0x{offset:x}, 0x{:x}) as a dma-buf:",
            dev.bdf,
            offset + length
        );
        print!("{}", info.describe("  "));
        match &import.negotiated {
            Some(Ok(name)) => println!("  iommufd would import it through {name}"),
            Some(Err(errno)) => println!(
                "  iommufd could not import it ({})",
                sys::errno_name(*errno)
            ),
            None => {}
        }
    }
    Ok(json!({
        "bdf": dev.bdf, "bar": bar, "offset": offset, "length": length,
        "dmabuf": info.to_json(), "iommufd": import.to_json(),
    }))
}

fn run(command: Command, json: bool) -> Result<Value> {
    match command {
        Command::Devices => devices(json),
        Command::Iommufd => iommufd(json),
        Command::Inspect {
            bdf,
            bar,
            offset,
            length,
        } => inspect(&bdf, bar, offset, length, json),
        Command::Demo => demo::run(json),
        Command::Buffers { pid } => process::buffers(pid, json),
        Command::Follow(opts) => follow::run(&opts, json),
        Command::Help => {
            println!("{USAGE}");
            Ok(Value::Null)
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let result = parse(&args).and_then(|(command, json)| run(command, json));
    match result {
        Ok(value) => {
            if json && !value.is_null() {
                println!("{}", serde_json::to_string_pretty(&value).unwrap());
            }
        }
        Err(e) => {
            if json {
                println!("{}", json!({ "error": e.kind(), "message": e.to_string() }));
            } else {
                eprintln!("dmabuf-ic: {e}");
                if matches!(e, Error::Usage(_)) {
                    eprintln!("{USAGE}");
                }
            }
            std::process::exit(e.exit_code());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn command_line() {
        assert_eq!(parse(&args("devices")).unwrap(), (Command::Devices, false));
        assert_eq!(
            parse(&args("--json iommufd")).unwrap(),
            (Command::Iommufd, true)
        );
        assert_eq!(
            parse(&args(
                "inspect 3.0 --bar 2 --offset 0x1000 --length 8192 --json"
            ))
            .unwrap(),
            (
                Command::Inspect {
                    bdf: "3.0".into(),
                    bar: Some(2),
                    offset: 0x1000,
                    length: 8192
                },
                true
            )
        );
        assert_eq!(parse(&args("demo --help")).unwrap().0, Command::Help);
        assert_eq!(
            parse(&args("--json buffers 1234")).unwrap(),
            (Command::Buffers { pid: 1234 }, true)
        );
        assert_eq!(
            parse(&args("follow 1234 25")).unwrap(),
            (
                Command::Follow(follow::Options {
                    pid: 1234,
                    fd: 25,
                    iova: 0x1_0000_0000,
                    events: None,
                    timeout: 60
                }),
                false
            )
        );
        assert_eq!(
            parse(&args(
                "follow 1234 0 --iova 0x200000 --events 2 --timeout 0 --json"
            ))
            .unwrap(),
            (
                Command::Follow(follow::Options {
                    pid: 1234,
                    fd: 0,
                    iova: 0x20_0000,
                    events: Some(2),
                    timeout: 0
                }),
                true
            )
        );
        for bad in [
            "",
            "frobnicate",
            "inspect",
            "inspect 3.0 --bar",
            "inspect 3.0 --bar x",
            "inspect 3.0 --colour 2",
            "devices extra",
            "buffers",
            "buffers 0",
            "buffers -1",
            "buffers qemu",
            "buffers 99999999999",
            "buffers 12 13",
            "follow",
            "follow 12",
            "follow 0 3",
            "follow 12 fd",
            "follow 12 3 --events",
            "follow 12 3 --events two",
            "follow 12 3 --timeout -1",
            "follow 12 3 --iova 0xzz",
            "follow 12 3 --revoke 1",
        ] {
            let err = parse(&args(bad)).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}: {err}");
        }
    }
}
