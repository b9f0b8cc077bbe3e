"""Import hygiene of the data layers: nothing heavy at import, no cycle among the embedders."""


def test_importing_the_data_layers_loads_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys, qa.index, qa.index.build, qa.index.files, qa.index.model, qa.store, qa.store.faiss,"
        " qa.lexical.bm25, qa.embedders.base, qa.embedders.onnx, qa.embedders.torch\n"
        "print(sorted(m for m in ('faiss', 'bm25s', 'torch', 'onnxruntime', 'sentence_transformers',"
        " 'filelock', 'tokenizers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_embedder_modules_import_one_way():
    """base -> onnx -> torch -> paths: no module imports one that imports it back."""
    import ast
    from pathlib import Path

    import qa.embedders

    folder = Path(qa.embedders.__file__).parent
    graph = {}
    for path in folder.glob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("qa.embedders."):
                names.add(node.module.rsplit(".", 1)[1])
        graph[path.stem] = names
    for module, imported in graph.items():
        for other in imported:
            assert module not in graph.get(other, set()), f"{module} and {other} import each other"
    assert "onnx" not in graph["torch"] and "base" not in graph["onnx"] | graph["torch"]
