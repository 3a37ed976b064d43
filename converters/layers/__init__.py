"""Keras-style layers (``from onnumba.converters import layers``)."""

from onnumba.converters.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from onnumba.converters.layers.attention import Attention, MultiHeadAttention
from onnumba.converters.layers.base import Input, InputLayer, KerasTensor, Layer
from onnumba.converters.layers.base_conv import BaseConv, Conv1D, Conv2D, Conv3D
from onnumba.converters.layers.conv_transpose import (BaseConvTranspose, Conv1DTranspose,
                                                      Conv2DTranspose, Conv3DTranspose)
from onnumba.converters.layers.core import (Activation, Dense, Dropout, Embedding, Flatten,
                                            Identity, Permute, Reshape)
from onnumba.converters.layers.depthwise import (BaseDepthwiseConv, BaseSeparableConv,
                                                 DepthwiseConv1D, DepthwiseConv2D,
                                                 SeparableConv1D, SeparableConv2D)
from onnumba.converters.layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum,
                                               Multiply, Subtract, add, average, concatenate,
                                               maximum, minimum, multiply, subtract)
from onnumba.converters.layers.feature_norm import (GroupNormalization, LayerNormalization,
                                                    UnitNormalization)
from onnumba.converters.layers.normalization import BatchNormalization
from onnumba.converters.layers.pooling import (AveragePooling1D, AveragePooling2D,
                                               AveragePooling3D, BaseGlobalPooling, BasePooling,
                                               GlobalAveragePooling1D, GlobalAveragePooling2D,
                                               GlobalAveragePooling3D, GlobalMaxPooling1D,
                                               GlobalMaxPooling2D, GlobalMaxPooling3D,
                                               MaxPooling1D, MaxPooling2D, MaxPooling3D)
from onnumba.converters.layers.preprocessing import (CenterCrop, Normalization, Rescaling,
                                                     Resizing)
from onnumba.converters.layers.recurrent import GRU, LSTM, BaseRNN, SimpleRNN
from onnumba.converters.layers.regularization import (ActivityRegularization, AlphaDropout,
                                                      BaseSpatialDropout, GaussianDropout,
                                                      GaussianNoise, SpatialDropout1D,
                                                      SpatialDropout2D, SpatialDropout3D)
from onnumba.converters.layers.reshaping import (BaseCropping, BaseZeroPadding, Cropping1D,
                                                 Cropping2D, Cropping3D, RepeatVector,
                                                 UpSampling1D, UpSampling2D, UpSampling3D,
                                                 ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)
from onnumba.converters.layers.wrappers import Bidirectional, TimeDistributed

# Keras aliases
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D,
                                                     GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = (GlobalMaxPooling1D, GlobalMaxPooling2D,
                                                     GlobalMaxPooling3D)

#: class_name -> class, for configs (only real classes; aliases resolve to them)
LAYER_CLASSES = {cls.__name__: cls for cls in (
    InputLayer, Dense, Activation, Dropout, Flatten, Reshape, Permute, Conv1D, Conv2D, Conv3D,
    Conv1DTranspose, Conv2DTranspose, Conv3DTranspose, DepthwiseConv1D, DepthwiseConv2D,
    SeparableConv1D, SeparableConv2D, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D, Cropping1D,
    Cropping2D, Cropping3D, MaxPooling1D, MaxPooling2D, MaxPooling3D, AveragePooling1D,
    AveragePooling2D, AveragePooling3D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalAveragePooling3D, GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D,
    BatchNormalization, UpSampling1D, UpSampling2D, ReLU, LeakyReLU, ELU, PReLU, Softmax,
    Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum, Identity, Embedding,
    LayerNormalization, GroupNormalization, UnitNormalization, Rescaling, SpatialDropout1D,
    SpatialDropout2D, SpatialDropout3D, GaussianNoise, GaussianDropout, RepeatVector,
    UpSampling3D, SimpleRNN, GRU, LSTM, Bidirectional, TimeDistributed, Normalization,
    CenterCrop, MultiHeadAttention, Attention, Resizing, ActivityRegularization, AlphaDropout,
    Dot)}
LAYER_CLASSES.update({"MaxPool1D": MaxPooling1D, "MaxPool2D": MaxPooling2D,
                      "MaxPool3D": MaxPooling3D, "AvgPool1D": AveragePooling1D,
                      "AvgPool2D": AveragePooling2D, "AvgPool3D": AveragePooling3D,
                      "Convolution2D": Conv2D})
