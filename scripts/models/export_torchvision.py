"""Export torchvision architectures (random weights, fixed seed) to ONNX for tests and benchmarks.

Needs Debian's python3-torch and python3-torchvision (use /usr/bin/python3):
    apt-get install -y --no-install-recommends python3-torch python3-torchvision
    /usr/bin/python3 scripts/models/export_torchvision.py OUT_DIR resnet50 [resnet18 ...] [--keep-bn] [--opset=17]

Eval-mode export folds BatchNormalization into Conv; --keep-bn keeps BN nodes (TrainingMode.PRESERVE).
Opset 13 by default; --opset=17 keeps LayerNorm as one LayerNormalization node (files named NAME-op17.onnx).
"""
import sys
import os
import torch
import torchvision

def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    keep_bn = '--keep-bn' in sys.argv
    opset = next((int(a.split('=')[1]) for a in sys.argv if a.startswith('--opset=')), 13)
    out_dir, names = args[0], args[1:]
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    for name in names:
        suffix = ('-bn' if keep_bn else '') + (f'-op{opset}' if opset != 13 else '')
        path = os.path.join(out_dir, f'{name}{suffix}.onnx')
        if os.path.exists(path):
            continue
        kwargs = {'aux_logits': False, 'init_weights': True} if name in ('googlenet', 'inception_v3') else {}
        model = getattr(torchvision.models, name)(**kwargs).eval()
        size = 299 if name == 'inception_v3' else 224
        x = torch.randn(1, 3, size, size)
        tmp = path + '.tmp'
        torch.onnx.export(
            model, x, tmp, opset_version=opset, input_names=['input'], output_names=['logits'],
            dynamic_axes={'input': {0: 'batch'}, 'logits': {0: 'batch'}},
            training=torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL,
            do_constant_folding=True,
        )
        os.replace(tmp, path)
        print(f'exported {path} ({os.path.getsize(path) / 1e6:.1f} MB)')

if __name__ == '__main__':
    main()
