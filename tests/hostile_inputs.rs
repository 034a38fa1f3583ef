//! Files whose headers lie: a 1 KB file that declares 10^12 points must be rejected with a clear error
//! and without a large allocation, in every format. A counting allocator measures the allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use slipstream::mesh;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                    - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const TRILLION: u64 = 1_000_000_000_000;

/// Pads `head` with spaces (or zero bytes for binary files) to 1 KiB.
fn one_kib(mut head: Vec<u8>, pad: u8) -> Vec<u8> {
    head.resize(head.len().max(1024), pad);
    head
}

fn cases() -> Vec<(&'static str, Vec<u8>)> {
    let mut v = Vec::new();
    let legacy_ascii = format!(
        "# vtk DataFile Version 3.0\nhostile\nASCII\nDATASET POLYDATA\nPOINTS {TRILLION} float\n0 0 0 1 0 0 0 1 0\n"
    );
    v.push(("legacy_ascii.vtk", one_kib(legacy_ascii.into_bytes(), b' ')));
    let mut legacy_bin = format!("# vtk DataFile Version 3.0\nhostile\nBINARY\nDATASET UNSTRUCTURED_GRID\nPOINTS {TRILLION} float\n").into_bytes();
    legacy_bin.extend(std::iter::repeat_n(0u8, 36));
    v.push(("legacy_binary.vtk", one_kib(legacy_bin, 0)));
    let vtu = |points: &str, body: &str| {
        format!(
            "<?xml version=\"1.0\"?>\n<VTKFile type=\"UnstructuredGrid\" version=\"1.0\" byte_order=\"LittleEndian\" header_type=\"UInt64\"{}>\n<UnstructuredGrid><Piece NumberOfPoints=\"{points}\" NumberOfCells=\"0\">\n<Points>{body}</Points></Piece></UnstructuredGrid></VTKFile>\n",
            if body.contains("zlib") { " compressor=\"vtkZLibDataCompressor\"" } else { "" }
        )
    };
    let ascii = vtu(
        &TRILLION.to_string(),
        "<DataArray type=\"Float32\" Name=\"Points\" NumberOfComponents=\"3\" format=\"ascii\">0 0 0 1 1 1</DataArray>",
    );
    v.push(("ascii.vtu", one_kib(ascii.into_bytes(), b' ')));
    // Inline binary whose UInt64 header claims 12·10^12 bytes.
    let header = (12 * TRILLION).to_le_bytes();
    let b64 = base64_encode(&header);
    let binary = vtu(
        &TRILLION.to_string(),
        &format!("<DataArray type=\"Float32\" Name=\"Points\" NumberOfComponents=\"3\" format=\"binary\">{b64}AAAA</DataArray>"),
    );
    v.push(("binary_header.vtu", one_kib(binary.into_bytes(), b' ')));
    // zlib: one block said to inflate to 12·10^12 bytes.
    let mut zh = Vec::new();
    for x in [1u64, 12 * TRILLION, 12 * TRILLION, 8] {
        zh.extend_from_slice(&x.to_le_bytes());
    }
    let zlib = vtu(
        &TRILLION.to_string(),
        &format!(
            "<DataArray type=\"Float32\" Name=\"Points\" NumberOfComponents=\"3\" format=\"binary\">{}{}</DataArray><!-- zlib -->",
            base64_encode(&zh),
            base64_encode(&[0x78, 0x9c, 0x03, 0, 0, 0, 0, 1])
        ),
    );
    v.push(("zlib_block.vtu", one_kib(zlib.into_bytes(), b' ')));
    // Appended raw data whose header claims 12·10^12 bytes.
    let mut appended = format!(
        "<?xml version=\"1.0\"?>\n<VTKFile type=\"PolyData\" version=\"1.0\" byte_order=\"LittleEndian\" header_type=\"UInt64\">\n<PolyData><Piece NumberOfPoints=\"{TRILLION}\" NumberOfPolys=\"0\">\n<Points><DataArray type=\"Float32\" Name=\"Points\" NumberOfComponents=\"3\" format=\"appended\" offset=\"0\"/></Points></Piece></PolyData>\n<AppendedData encoding=\"raw\">\n_"
    )
    .into_bytes();
    appended.extend_from_slice(&header);
    v.push(("appended.vtp", one_kib(appended, 0)));
    // Binary STL whose count field says 4,294,967,295 triangles.
    let mut stl = vec![b' '; 80];
    stl.extend_from_slice(&u32::MAX.to_le_bytes());
    v.push(("count.stl", one_kib(stl, 0)));
    // OBJ faces that refer to the 10^12-th vertex.
    let obj = format!("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 {TRILLION}\n");
    v.push(("index.obj", one_kib(obj.into_bytes(), b'\n')));
    v
}

fn base64_encode(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= c.len() {
                out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One test function, so that no other test allocates while a case is measured.
#[test]
fn files_declaring_a_trillion_points_are_rejected_without_large_allocations() {
    let dir = tempfile::tempdir().unwrap();
    let mut files: Vec<(String, std::path::PathBuf)> = Vec::new();
    for (name, bytes) in cases() {
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(&bytes)
            .unwrap();
        files.push((name.to_string(), path));
    }
    let h5 =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/declares_1e12_points.h5");
    files.push(("declares_1e12_points.h5 (h5py)".into(), h5));
    const LIMIT_BYTES: usize = 64 << 20;
    let mut report = Vec::new();
    for (name, path) in &files {
        let before = CURRENT.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let result = mesh::read(path);
        let peak = PEAK.load(Ordering::Relaxed) - before;
        let err = match result {
            Ok(_) => panic!("{name}: accepted a file that declares 10^12 points"),
            Err(e) => e.to_string(),
        };
        assert!(
            err.contains(path.file_name().unwrap().to_str().unwrap()),
            "{name}: {err}"
        );
        assert!(
            peak < LIMIT_BYTES,
            "{name}: allocated {peak} bytes before failing: {err}"
        );
        report.push(format!("{name:<34} peak {:>8} KiB  {err}", peak / 1024));
    }
    eprintln!("{}", report.join("\n"));
}
