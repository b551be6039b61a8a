"""FER2013's class order: the label codes of the original CSV."""

CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(CLASSES)
IMAGE_SIZE = 48

# Folder names seen in the common distributions, mapped to the label code (case-insensitive).
FOLDER_ALIASES: dict[str, int] = {name: code for code, name in enumerate(CLASSES)}
FOLDER_ALIASES.update({
    "anger": 0, "angry": 0, "disgusted": 1, "fearful": 2, "scared": 2, "happiness": 3,
    "sadness": 4, "surprised": 5,
})
FOLDER_ALIASES.update({str(code): code for code in range(NUM_CLASSES)})
