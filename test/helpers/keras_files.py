"""Keras files for the tests, written with h5py and zipfile the way Keras writes them (no Keras here), and read back.

  write SPEC.json OUT      OUT.h5: keras/src/legacy/saving/legacy_h5_format.py save_model_to_hdf5 (Keras 2 layout)
                           OUT.keras: keras/src/saving/saving_lib.py _save_model_to_fileobj (Keras 3 layout)
  dump FILE                the structure of an .h5 or .keras file as JSON: every group, dataset (shape, dtype) and
                           attribute (its HDF5 string kind and value), the zip's entries and config.json
  weights FILE             every weight dataset's values, by path, as lists

SPEC: {"kind": "h5"|"keras", "config": {...}, "keras_version": "...", "model_name": "...",
       "layers": [{"name", "class_name", "path": [enclosing model names..., name], "weights": [{"name", "shape", "data"}]}],
       "optimizer": bool}
"""
import base64
import io
import json
import re
import sys
import zipfile

import h5py
import numpy as np


def to_snake_case(name):
    # keras/src/utils/naming.py
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def values(w):
    return np.frombuffer(base64.b64decode(w["data"]), dtype="<f4").reshape(w["shape"])


def write_h5(spec, out):
    f = h5py.File(out, "w")
    f.attrs["backend"] = "tensorflow".encode("utf8")
    f.attrs["keras_version"] = spec["keras_version"].encode("utf8")
    f.attrs["model_config"] = json.dumps(spec["config"]).encode("utf8")
    f.attrs["training_config"] = json.dumps({"loss": "categorical_crossentropy", "optimizer_config": {"class_name": "Adam", "config": {"learning_rate": 0.001}}}).encode("utf8")
    g = f.create_group("model_weights")
    top = spec["top_layers"]  # model.layers, in order
    g.attrs["layer_names"] = [n.encode("utf8") for n in top]
    g.attrs["backend"] = "tensorflow".encode("utf8")
    g.attrs["keras_version"] = spec["keras_version"].encode("utf8")
    by_top = {n: [] for n in top}
    for layer in spec["layers"]:
        for w in layer["weights"]:
            by_top[layer["path"][0]].append(("%s/%s:0" % (layer["name"], w["name"]), values(w)))
    for name in sorted(top):
        lg = g.create_group(name)
        ws = by_top[name]
        lg.attrs["weight_names"] = np.asarray([n.encode("utf8") for n, _ in ws]) if ws else np.asarray([])
        for n, v in ws:
            d = lg.create_dataset(n, v.shape, dtype=v.dtype)
            d[:] = v
    tl = g.create_group("top_level_model_weights")
    tl.attrs["weight_names"] = np.asarray([])
    if spec.get("optimizer"):
        o = f.create_group("optimizer_weights")
        names, vals = [b"Adam/iter:0"], [np.asarray(3, dtype="int64")]
        for layer in spec["layers"]:
            for w in layer["weights"]:
                names.append(("Adam/%s/%s/m:0" % (layer["name"], w["name"])).encode("utf8"))
                vals.append(np.zeros(w["shape"], dtype="float32"))
        o.attrs["weight_names"] = names
        for n, v in zip(names, vals):
            d = o.create_dataset(n.decode(), v.shape, dtype=v.dtype)
            if v.shape:
                d[:] = v
            else:
                d[()] = v
    f.close()


def keras3_paths(model_config, prefix, out):
    """The path of each layer's variables: saving_lib's _save_container_state over model.layers."""
    cls = model_config["class_name"]
    layers = model_config["config"]["layers"]
    if cls == "Sequential":
        # Sequential.layers leaves out its InputLayer
        layers = [l for l in layers if l["class_name"] != "InputLayer"]
    used = {}
    for l in layers:
        base = to_snake_case(l["class_name"])
        if base in used:
            used[base] += 1
            name = "%s_%d" % (base, used[base])
        else:
            used[base] = 0
            name = base
        name_of = l.get("name") or l["config"]["name"]
        path = "%s/%s" % (prefix, name)
        out.append((name_of, l["class_name"], path))
        if l["class_name"] in ("Functional", "Sequential"):
            keras3_paths(l, path + "/layers", out)
    return out


def write_keras(spec, out):
    config = spec["config"]
    paths = keras3_paths(config, "layers", [])
    weights = {}
    for layer in spec["layers"]:
        weights[tuple(layer["path"])] = layer["weights"]
    buf = io.BytesIO()
    h = h5py.File(buf, "w")
    top = h.create_group("vars")
    top.attrs["name"] = spec["model_name"]
    # every layer gets its vars group, with the layer's name (as Keras 3.10+ writes them)
    stack = {}
    for name, cls, path in paths:
        depth = path.count("/layers/")
        stack[depth] = name
        key = tuple(stack[d] for d in range(depth + 1))
        g = h.create_group(path + "/vars") if path not in h else h[path].create_group("vars")
        g.attrs["name"] = name
        for i, w in enumerate(weights.get(key, [])):
            g.create_dataset(str(i), data=values(w))
        if cls == "Dropout":
            # Keras 3 dropout layers carry a seed generator's state
            s = h.create_group(path + "/seed_generator/vars")
            s.attrs["name"] = "seed_generator"
            s.create_dataset("0", data=np.asarray([1337, 0], dtype="uint32"))
    if spec.get("optimizer"):
        o = h.create_group("optimizer/vars")
        o.attrs["name"] = "adam"
        o.create_dataset("0", data=np.asarray(3, dtype="int64"))
        k = 1
        for layer in spec["layers"]:
            for w in layer["weights"]:
                o.create_dataset(str(k), data=np.zeros(w["shape"], dtype="float32"))
                k += 1
    h.close()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": spec["keras_version"], "date_saved": "2025-01-01@00:00:00"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", buf.getvalue())


def attr_kind(obj, name):
    t = obj.attrs.get_id(name).get_type()
    if isinstance(t, h5py.h5t.TypeStringID):
        return "vlen-str" if t.is_variable_str() else "fixed-str"
    return str(obj.attrs[name].dtype)


def attr_value(v):
    if isinstance(v, bytes):
        return v.decode("utf8")
    if isinstance(v, np.ndarray):
        return [attr_value(x) for x in v.tolist()]
    if isinstance(v, (np.generic,)):
        return attr_value(v.item())
    return v


def dump_h5(f):
    out = {}

    def visit(name, obj):
        entry = {"attrs": {k: {"kind": attr_kind(obj, k), "value": attr_value(obj.attrs[k])} for k in obj.attrs}}
        if isinstance(obj, h5py.Dataset):
            entry.update(type="dataset", shape=list(obj.shape), dtype=str(obj.dtype))
        else:
            entry.update(type="group")
        out[name] = entry

    out["/"] = {"type": "group", "attrs": {k: {"kind": attr_kind(f, k), "value": attr_value(f.attrs[k])} for k in f.attrs}}
    f.visititems(visit)
    return out


def dump(path):
    if zipfile.is_zipfile(path):
        z = zipfile.ZipFile(path)
        entries = [{"name": i.filename, "compress_type": i.compress_type} for i in z.infolist()]
        h = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
        return {"zip": entries, "config": json.loads(z.read("config.json")), "metadata": json.loads(z.read("metadata.json")), "h5": dump_h5(h)}
    return {"h5": dump_h5(h5py.File(path, "r"))}


def weights(path):
    if zipfile.is_zipfile(path):
        h = h5py.File(io.BytesIO(zipfile.ZipFile(path).read("model.weights.h5")), "r")
    else:
        h = h5py.File(path, "r")
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "f":
            out[name] = np.asarray(obj).astype("float64").ravel().tolist()

    h.visititems(visit)
    return out


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "write":
        spec = json.load(open(sys.argv[2]))
        (write_h5 if spec["kind"] == "h5" else write_keras)(spec, sys.argv[3])
    elif cmd == "dump":
        print(json.dumps(dump(sys.argv[2])))
    elif cmd == "weights":
        print(json.dumps(weights(sys.argv[2])))
