"""``make data``: download (or find) every real dataset of the course and report it."""

from gan_lab import data

def fetch_all(data_dir: str | Path | None = None) -> None:
    """Download (or find) every real dataset of the course and report it: ``make data``."""
    for split in ("train", "test"):
        found = data.mnist_arrays(split, data_dir)
        print(f"ok: {found.source}, {len(found.images)} images")
    folder = data.find_facades(data_dir)
    problems = data.validate_facades(folder)
    print(f"ok: CMP facades in {folder}" if not problems else f"facades in {folder}: {problems}")
    print(f"ok: apple2orange in {data.find_apple2orange(data_dir)}")



if __name__ == "__main__":
    fetch_all()
