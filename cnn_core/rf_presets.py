"""Ready-made layer stacks: the course's small examples and the first layers of famous networks.

Each preset is a list of dicts with torch's argument names (cnn_core.rf_layers reads them). The famous ones follow
torchvision's definitions, layer for layer:

- VGG-16 (Simonyan & Zisserman 2015), its first two blocks: 3×3 convs with padding 1, 2×2 max pools.
- AlexNet (Krizhevsky, Sutskever & Hinton 2012), all conv and pool layers. The paper says its input is 224×224,
  but its first layer (11×11, stride 4, no padding) only gives the 55×55 map it reports from 227×227:
  (227 − 11)/4 + 1 = 55. torchvision pads that layer by 2 instead, so a 224×224 input also gives
  ⌊(224 + 4 − 11)/4⌋ + 1 = 55. The preset is torchvision's (padding 2); the field is 195 pixels either way.
- The ResNet stem (He et al. 2016): a 7×7 conv with stride 2 and padding 3, then a 3×3 max pool with stride 2
  and padding 1.
"""

from __future__ import annotations

# The input side each famous network was trained on (what its feature-map sizes assume).
TRAINED_INPUT = {"vgg16": 224, "alexnet": 224, "resnet_stem": 224}


def conv_layer(k: int, stride: int = 1, padding: int = 0, dilation: int = 1, out_channels: int = 64) -> dict:
    return dict(kind="conv", kernel_size=k, stride=stride, padding=padding, dilation=dilation,
                out_channels=out_channels)


def pool_layer(k: int, stride: int | None = None, padding: int = 0, kind: str = "maxpool") -> dict:
    return dict(kind=kind, kernel_size=k, stride=k if stride is None else stride, padding=padding, dilation=1)


PRESETS: dict[str, list[dict]] = {
    "two_3x3": [conv_layer(3), conv_layer(3)],  # two 3×3 see 5×5
    "one_5x5": [conv_layer(5)],
    "conv_pool_conv": [conv_layer(3), pool_layer(2), conv_layer(3)],
    "three_3x3": [conv_layer(3), conv_layer(3), conv_layer(3)],  # VGG's argument: same field as one 7×7
    "one_7x7": [conv_layer(7)],
    "strided_3x3": [conv_layer(3, stride=2), conv_layer(3, stride=2), conv_layer(3, stride=2)],
    "dilated_124": [conv_layer(3, padding=1), conv_layer(3, padding=2, dilation=2),
                    conv_layer(3, padding=4, dilation=4)],
    "vgg16": [conv_layer(3, padding=1), conv_layer(3, padding=1), pool_layer(2),
              conv_layer(3, padding=1, out_channels=128), conv_layer(3, padding=1, out_channels=128), pool_layer(2)],
    "alexnet": [conv_layer(11, stride=4, padding=2), pool_layer(3, 2), conv_layer(5, padding=2, out_channels=192),
                pool_layer(3, 2), conv_layer(3, padding=1, out_channels=384),
                conv_layer(3, padding=1, out_channels=256), conv_layer(3, padding=1, out_channels=256),
                pool_layer(3, 2)],
    "resnet_stem": [conv_layer(7, stride=2, padding=3), pool_layer(3, 2, 1)],
}
