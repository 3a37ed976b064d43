"""placeholder"""
def load_keras(path): raise NotImplementedError
def model_from_config(c): raise NotImplementedError
def model_from_json(s): raise NotImplementedError
